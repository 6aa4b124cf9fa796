package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/zeebo/blake3"

	"ferry/index"
	"ferry/index/history"
	"ferry/platform"
	"ferry/proto"
	"ferry/web"
)

// restoreFolder returns what a restore in folder needs: its runner, which
// holds its file system and index, refusing a folder that is not running.
func (n *Node) restoreFolder(folder string) (*folderRunner, error) {
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
	r, err := n.restoreFolder(folder)
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
		out = append(out, web.VersionInfo{ID: v.ID, Name: name, Size: v.File.Size, ModTime: time.Unix(0, v.File.ModTime),
			Until: v.Until, Kind: v.Kind.String(), By: v.By.String()})
	}
	if len(out) == 0 {
		return nil, web.NotFound(fmt.Errorf("%s: no version of it here, current or kept", name))
	}
	return out, nil
}

// Restore implements web.History.
func (n *Node) Restore(ctx context.Context, req web.RestoreRequest) (web.RestoreResult, error) {
	r, err := n.restoreFolder(req.Folder)
	if err != nil {
		return web.RestoreResult{}, err
	}
	if err := proto.ValidName(req.Name); err != nil {
		return web.RestoreResult{}, web.BadRequest(err)
	}
	v, err := n.pickVersion(req)
	if err != nil {
		return web.RestoreResult{}, err
	}
	var dest string
	if req.To != "" {
		dest, err = n.restoreTo(r, v, req.To)
	} else {
		dest, err = n.restoreInPlace(ctx, r, v)
	}
	if err != nil {
		return web.RestoreResult{}, fmt.Errorf("restore %s: %w", req.Name, err)
	}
	return web.RestoreResult{Path: dest, Size: v.File.Size, Version: v.ID}, nil
}

// pickVersion finds the kept version req asks for: by ID, or the one that
// was the file at req.At, the kept version replaced soonest after it.
func (n *Node) pickVersion(req web.RestoreRequest) (history.Version, error) {
	if req.Version != 0 {
		v, err := n.keeper.hist.Get(req.Folder, req.Name, req.Version)
		if errors.Is(err, history.ErrNotFound) {
			return v, web.NotFound(err)
		}
		return v, err
	}
	vs, err := n.keeper.hist.Versions(req.Folder, req.Name)
	if err != nil {
		return history.Version{}, err
	}
	i := slices.IndexFunc(vs, func(v history.Version) bool { return v.Until.After(req.At) })
	switch {
	case len(vs) == 0:
		return history.Version{}, web.NotFound(fmt.Errorf("%s: no version of it is kept here", req.Name))
	case i < 0:
		return history.Version{}, web.BadRequest(fmt.Errorf("%s at %s: the file was then as it is now (the last kept version was replaced at %s)",
			req.Name, req.At.Format(time.RFC3339), vs[len(vs)-1].Until.Format(time.RFC3339)))
	case i == 0 && time.Unix(0, vs[0].File.ModTime).After(req.At):
		return history.Version{}, web.BadRequest(fmt.Errorf("%s at %s: that is before the oldest kept version, written at %s",
			req.Name, req.At.Format(time.RFC3339), time.Unix(0, vs[0].File.ModTime).Format(time.RFC3339)))
	}
	return vs[i], nil
}

// restoreTo writes v as a new file in the directory dir, made if missing,
// under the name's base; it refuses to overwrite anything there.
func (n *Node) restoreTo(r *folderRunner, v history.Version, dir string) (string, error) {
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
	if err := n.writeNew(r, v.File, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// restoreInPlace writes v at its name in the folder, after keeping what is
// there now in the history; the folder then records and sends it like any
// local change.
func (n *Node) restoreInPlace(ctx context.Context, r *folderRunner, v history.Version) (string, error) {
	if _, err := n.putBack(r, v.File, v.ID); err != nil {
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
// or, failing that, from a live file of the folder that holds it, and each
// checked against its hash. A block found nowhere fails the restore.
func (n *Node) assemble(r *folderRunner, f proto.FileInfo, w io.WriterAt) error {
	buf := make([]byte, 0, 1<<20)
	for _, b := range f.Blocks {
		data, err := n.keeper.store.Get(b.Hash, buf)
		if err != nil {
			data, err = liveBlock(r, b)
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
