package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/blake3"

	"ferry/index"
	"ferry/index/blocks"
	"ferry/index/history"
	"ferry/platform"
	"ferry/proto"
	"ferry/web"
)

// historyRunner returns what the history routes of folder need: its runner, which
// holds its file system and index, refusing a folder that is not running.
func (n *Node) historyRunner(folder string) (*folderRunner, error) {
	n.mu.RLock()
	h := n.folders[folder]
	n.mu.RUnlock()
	switch {
	case h == nil:
		return nil, web.NotFound(fmt.Errorf("no folder %q", folder))
	case h.runner == nil:
		return nil, fmt.Errorf("folder %s is not running (is %s there?)", folder, h.cfg.Path)
	}
	return h.runner, nil
}

// Versions implements web.History: the current version of name, if there
// is one, then those this device kept, newest first.
func (n *Node) Versions(ctx context.Context, folder, name string) ([]web.VersionInfo, error) {
	r, err := n.historyRunner(folder)
	if err != nil {
		return nil, err
	}
	if err := proto.ValidName(name); err != nil {
		return nil, web.BadRequest(err)
	}
	var out []web.VersionInfo
	if cur, ok, err := r.idx.Get(index.Local, name); err != nil {
		return nil, err
	} else if ok && !cur.Deleted && cur.Type == proto.FileTypeFile {
		out = append(out, web.VersionInfo{Name: name, Size: cur.Size, ModTime: time.Unix(0, cur.ModTime), Kind: "current",
			By: cur.ModifiedBy.String()})
	}
	vs, err := n.keeper.hist.Versions(folder, name)
	if err != nil {
		return nil, err
	}
	for _, v := range slices.Backward(vs) {
		out = append(out, versionInfo(v, ""))
	}
	for _, pv := range n.peerVersions(ctx, r, folder, name) {
		for _, v := range slices.Backward(pv.versions) {
			out = append(out, versionInfo(v, pv.dev.String()))
		}
	}
	if len(out) == 0 {
		return nil, web.NotFound(fmt.Errorf("%s: no version of it here, current or kept", name))
	}
	return out, nil
}

// Restore implements web.History.
func (n *Node) Restore(ctx context.Context, req web.RestoreRequest) (web.RestoreResult, error) {
	r, err := n.historyRunner(req.Folder)
	if err != nil {
		return web.RestoreResult{}, err
	}
	if err := proto.ValidName(req.Name); err != nil {
		return web.RestoreResult{}, web.BadRequest(err)
	}
	v, from, err := n.pickVersion(ctx, r, req)
	if err != nil {
		return web.RestoreResult{}, err
	}
	var dest string
	if req.To != "" {
		dest, err = n.restoreTo(r, v, req.To, from)
	} else {
		dest, err = n.restoreInPlace(ctx, r, v, from)
	}
	if err != nil {
		return web.RestoreResult{}, fmt.Errorf("restore %s: %w", req.Name, err)
	}
	return web.RestoreResult{Path: dest, Size: v.File.Size, Version: v.ID}, nil
}

// pickVersion finds the kept version req asks for, and the device that
// keeps it (zero: this one): by ID, of this device or of req.Device, or the
// one that was the file at req.At, the kept version replaced soonest after
// it on this device or any connected one.
func (n *Node) pickVersion(ctx context.Context, r *folderRunner, req web.RestoreRequest) (history.Version, proto.DeviceID, error) {
	var none proto.DeviceID
	if req.Version != 0 && req.Device == "" {
		v, err := n.keeper.hist.Get(req.Folder, req.Name, req.Version)
		if errors.Is(err, history.ErrNotFound) {
			return v, none, web.NotFound(err)
		}
		return v, none, err
	}
	local, err := n.keeper.hist.Versions(req.Folder, req.Name)
	if err != nil {
		return history.Version{}, none, err
	}
	sources := []peerHistory{{versions: local}}
	if req.Device != "" {
		sources = nil
		for _, pv := range n.peerVersions(ctx, r, req.Folder, req.Name) {
			if id := pv.dev.String(); id == req.Device || len(req.Device) >= 7 && strings.HasPrefix(id, strings.ToUpper(req.Device)) {
				sources = append(sources, pv)
			}
		}
		switch {
		case len(sources) == 0:
			return history.Version{}, none, web.NotFound(fmt.Errorf("no connected device %s keeps a version of %s", req.Device, req.Name))
		case len(sources) > 1:
			return history.Version{}, none, web.BadRequest(fmt.Errorf("device %s: more than one device starts so; give more of its ID", req.Device))
		}
	} else {
		sources = append(sources, n.peerVersions(ctx, r, req.Folder, req.Name)...)
	}
	if req.Version != 0 {
		for _, v := range sources[0].versions {
			if v.ID == req.Version {
				return v, sources[0].dev, nil
			}
		}
		return history.Version{}, none, web.NotFound(fmt.Errorf("version %d of %s: %w", req.Version, req.Name, history.ErrNotFound))
	}
	return atMoment(req, sources)
}

// atMoment picks, among the versions each source keeps (each oldest
// first), the one that was the file at req.At: replaced soonest after it.
func atMoment(req web.RestoreRequest, sources []peerHistory) (history.Version, proto.DeviceID, error) {
	var best history.Version
	var from proto.DeviceID
	var oldest, newest history.Version
	found := false
	for _, src := range sources {
		for _, v := range src.versions {
			if oldest.Until.IsZero() || v.Until.Before(oldest.Until) {
				oldest = v
			}
			if v.Until.After(newest.Until) {
				newest = v
			}
			if v.Until.After(req.At) && (!found || v.Until.Before(best.Until)) {
				best, from, found = v, src.dev, true
			}
		}
	}
	switch {
	case oldest.Until.IsZero():
		return best, from, web.NotFound(fmt.Errorf("%s: no version of it is kept here or on a connected device", req.Name))
	case !found:
		return best, from, web.BadRequest(fmt.Errorf("%s at %s: the file was then as it is now (the last kept version was replaced at %s)",
			req.Name, req.At.Format(time.RFC3339), newest.Until.Format(time.RFC3339)))
	case best.ID == oldest.ID && best.Until.Equal(oldest.Until) && time.Unix(0, best.File.ModTime).After(req.At):
		return best, from, web.BadRequest(fmt.Errorf("%s at %s: that is before the oldest kept version, written at %s",
			req.Name, req.At.Format(time.RFC3339), time.Unix(0, best.File.ModTime).Format(time.RFC3339)))
	}
	return best, from, nil
}

// peerHistory is what one device keeps of a file, oldest first; dev is
// zero for this device.
type peerHistory struct {
	dev      proto.DeviceID
	versions []history.Version
}

// peerVersions asks every connected device the folder is shared with
// which versions of name it keeps, all at once; a device that does not
// answer in time is left out.
func (n *Node) peerVersions(ctx context.Context, r *folderRunner, folder, name string) []peerHistory {
	answers := askShared(n, folder, func(c *peerConn) (*proto.HistoryResponse, error) { return c.askHistory(ctx, folder, name) })
	var out []peerHistory
	for _, a := range answers {
		ph := peerHistory{dev: a.dev}
		for _, v := range slices.Backward(a.answer.Versions) {
			if v.File.Name != name {
				continue // an answer about another file is ignored
			}
			ph.versions = append(ph.versions, history.Version{ID: v.ID, Folder: folder, File: v.File,
				Until: time.Unix(0, v.Until), Kind: history.Kind(v.Kind), By: v.By})
		}
		if len(ph.versions) > 0 {
			out = append(out, ph)
		}
	}
	return out
}

// answer is what one device answered.
type answer[T any] struct {
	dev    proto.DeviceID
	answer T
}

// askShared asks every connected device folder is shared with, all at
// once, and returns the answers in device order; a device that fails to
// answer is left out (and logged).
func askShared[T any](n *Node, folder string, ask func(c *peerConn) (T, error)) []answer[T] {
	devs := n.sharedDevices(folder)
	slices.SortFunc(devs, compareIDs)
	out := make([]answer[T], len(devs))
	ok := make([]bool, len(devs))
	var wg sync.WaitGroup
	for i, dev := range devs {
		c := n.conns.conn(dev)
		if c == nil {
			continue
		}
		wg.Go(func() {
			a, err := ask(c)
			if err != nil {
				n.log.Debug("no answer about the history from a device", "device", dev.Abbrev(), "err", err)
				return
			}
			out[i], ok[i] = answer[T]{dev: dev, answer: a}, true
		})
	}
	wg.Wait()
	var got []answer[T]
	for i := range out {
		if ok[i] {
			got = append(got, out[i])
		}
	}
	return got
}

func compareIDs(a, b proto.DeviceID) int { return bytes.Compare(a[:], b[:]) }

// sharedDevices returns the devices folder is shared with.
func (n *Node) sharedDevices(folder string) []proto.DeviceID {
	n.mu.RLock()
	defer n.mu.RUnlock()
	var devs []proto.DeviceID
	if h := n.folders[folder]; h != nil {
		for dev := range h.shared {
			devs = append(devs, dev)
		}
	}
	return devs
}

// versionInfo describes v, kept by device (empty: this one).
func versionInfo(v history.Version, device string) web.VersionInfo {
	return web.VersionInfo{ID: v.ID, Name: v.File.Name, Size: v.File.Size, ModTime: time.Unix(0, v.File.ModTime),
		Until: v.Until, Kind: v.Kind.String(), By: v.By.String(), Device: device}
}

// restoreTo writes v as a new file in the directory dir, made if missing,
// under the name's base; it refuses to overwrite anything there.
func (n *Node) restoreTo(r *folderRunner, v history.Version, dir string, from proto.DeviceID) (string, error) {
	if !filepath.IsAbs(dir) {
		return "", web.BadRequest(fmt.Errorf("--to %s: give an absolute directory", dir))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dest := filepath.Join(dir, path.Base(v.File.Name))
	if _, err := os.Lstat(dest); err == nil {
		return "", web.BadRequest(fmt.Errorf("%s is already there; restore into an empty directory", dest))
	}
	if err := n.writeNew(r, v.File, dest, from); err != nil {
		return "", err
	}
	return dest, nil
}

// restoreInPlace writes v at its name in the folder, after keeping what is
// there now in the history; the folder then records and sends it like any
// local change.
func (n *Node) restoreInPlace(ctx context.Context, r *folderRunner, v history.Version, from proto.DeviceID) (string, error) {
	if _, err := n.putBack(r, v.File, v.ID, from); err != nil {
		return "", err
	}
	if err := r.scan(ctx, v.File.Name); err != nil {
		return "", err
	}
	return filepath.Join(r.fs.Path(), filepath.FromSlash(v.File.Name)), nil
}

// sameStat reports whether the local record f still describes e.
func sameStat(f proto.FileInfo, e platform.Entry) bool {
	return f.Type == e.Type && f.Size == e.Size && f.ModTime == e.ModTime
}

// assemble writes the blocks of f to w in order: each from the block store
// or, failing that, from a live file of the folder that holds it, or from
// the history of the device from (when not zero), and each checked against
// its hash. A block found nowhere fails the restore.
func (n *Node) assemble(r *folderRunner, f proto.FileInfo, w io.WriterAt, from proto.DeviceID) error {
	buf := make([]byte, 0, 1<<20)
	for _, b := range f.Blocks {
		data, stored := n.keeper.store.Get(b.Hash, buf)
		err := stored
		if err != nil {
			data, err = liveBlock(r, b)
		}
		if err != nil && !from.IsZero() {
			data, err = n.peerBlock(r, from, f.Name, b)
		}
		if err != nil && errors.Is(stored, blocks.ErrDamaged) {
			n.keeper.sawDamage(stored)
			return fmt.Errorf("block at offset %d is damaged in this device's history and found nowhere else: %w", b.Offset, stored)
		}
		if err != nil {
			return fmt.Errorf("block %s at offset %d: %w", b.Hash, b.Offset, err)
		}
		if _, err := w.WriteAt(data, b.Offset); err != nil {
			return err
		}
	}
	return nil
}

// peerBlock fetches block b of a version of name from the device from: from
// its history, else from its file at name, checking its hash.
func (n *Node) peerBlock(r *folderRunner, from proto.DeviceID, name string, b proto.Block) ([]byte, error) {
	c := n.conns.conn(from)
	if c == nil {
		return nil, fmt.Errorf("%s, which keeps the version, is not connected", from.Abbrev())
	}
	data, err := c.request(context.Background(), &proto.Request{Folder: r.id, Name: name, Size: b.Size, Hash: b.Hash, History: true})
	if err != nil {
		// Not kept there: it may be in the file there now.
		data, err = c.request(context.Background(), &proto.Request{Folder: r.id, Name: name, Offset: b.Offset, Size: b.Size, Hash: b.Hash})
	}
	if err != nil {
		return nil, fmt.Errorf("from %s: %w", from.Abbrev(), err)
	}
	if blake3.Sum256(data) != b.Hash {
		return nil, fmt.Errorf("%s sent a block that does not match its hash", from.Abbrev())
	}
	return data, nil
}

// liveBlock reads block b from a live file of the folder the index says
// holds it, checking its hash.
func liveBlock(r *folderRunner, b proto.Block) ([]byte, error) {
	name, off, ok, err := r.idx.BlockSource(b.Hash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("not in the history nor in any file here")
	}
	fh, err := r.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data := make([]byte, b.Size)
	if _, err := fh.ReadAt(data, off); err != nil && err != io.EOF {
		return nil, err
	}
	if blake3.Sum256(data) != b.Hash {
		return nil, fmt.Errorf("%s changed where it held it", name)
	}
	return data, nil
}
