package node

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"ferry/engine"
	"ferry/engine/config"
	"ferry/index"
	"ferry/platform"
	"ferry/proto"
	"ferry/web"
)

// resolveMu makes resolutions run one at a time: two at once for the
// same copy would write the same temp file.
var resolveMu sync.Mutex

// errListed stops a walk of the index that found enough.
var errListed = errors.New("listed enough")

// ConflictList implements web.Conflicts: the live conflict copies of
// regular files in folder, or in every running folder when folder is
// empty, each with the file it is beside.
func (n *Node) ConflictList(ctx context.Context, folder string) ([]web.Conflict, error) {
	n.mu.RLock()
	cfg := n.cfg.Clone()
	n.mu.RUnlock()
	devs := knownDevices(n.id, cfg)
	out := []web.Conflict{}
	found := false
	for _, f := range cfg.Folders {
		if folder != "" && f.ID != folder {
			continue
		}
		found = true
		r, err := n.historyRunner(f.ID)
		if err != nil {
			if folder != "" {
				return nil, err
			}
			continue // a stopped folder shows why in the status
		}
		cs, err := folderConflicts(r, devs, web.MaxConflicts-len(out))
		if err != nil {
			return nil, fmt.Errorf("list the conflicts of %s: %w", f.ID, err)
		}
		out = append(out, cs...)
	}
	if !found && folder != "" {
		return nil, web.NotFound(fmt.Errorf("no folder %q", folder))
	}
	return out, nil
}

// folderConflicts lists at most limit conflict copies of r's folder, by
// name. A folder whose status counts none is not walked.
func folderConflicts(r *folderRunner, devs map[proto.ShortID]config.Device, limit int) ([]web.Conflict, error) {
	if limit <= 0 || r.status().Conflicts == 0 {
		return nil, nil
	}
	return listConflicts(r.idx, r.id, devs, limit)
}

// listConflicts lists at most limit conflict copies of the folder id
// whose index is idx, by name.
func listConflicts(idx *index.Folder, id string, devs map[proto.ShortID]config.Device, limit int) ([]web.Conflict, error) {
	var copies []proto.FileInfo
	var originals []string
	err := idx.EachLocal(func(f proto.FileInfo) error {
		if f.Deleted || f.Type != proto.FileTypeFile {
			return nil
		}
		if c, ok := engine.ParseConflictName(f.Name); ok {
			copies, originals = append(copies, f), append(originals, c.Original)
		}
		if len(copies) >= limit {
			return errListed
		}
		return nil
	})
	if err != nil && !errors.Is(err, errListed) {
		return nil, err
	}
	out := make([]web.Conflict, 0, len(copies))
	for i, c := range copies {
		orig, ok, err := idx.Get(index.Local, originals[i])
		if err != nil {
			return nil, err
		}
		o := web.ConflictVersion{Name: originals[i]}
		if ok && !orig.Deleted {
			o = conflictVersion(orig, devs)
		}
		out = append(out, web.Conflict{Folder: id, Original: o, Copy: conflictVersion(c, devs)})
	}
	return out, nil
}

// knownDevices are this device and the trusted ones, by short ID.
func knownDevices(self proto.DeviceID, cfg config.Config) map[proto.ShortID]config.Device {
	devs := map[proto.ShortID]config.Device{self.Short(): {ID: self, Name: cfg.Name}}
	for _, d := range cfg.Devices {
		devs[d.ID.Short()] = d
	}
	return devs
}

// conflictVersion describes the live local record f.
func conflictVersion(f proto.FileInfo, devs map[proto.ShortID]config.Device) web.ConflictVersion {
	v := web.ConflictVersion{Name: f.Name, Exists: true, Device: f.ModifiedBy.String(), ModTime: time.Unix(0, f.ModTime).UTC(),
		Size: f.Size, Version: versionToken(f)}
	if d, ok := devs[f.ModifiedBy]; ok {
		v.Device, v.DeviceName = d.ID.String(), d.Name
	}
	return v
}

// versionToken stands for the record f: it changes whenever a scan finds
// the file changed, or a peer's version replaces it.
func versionToken(f proto.FileInfo) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%o", f.Name, f.Version, f.Size, f.ModTime, f.Mode)
	return fmt.Sprintf("%016x", h.Sum64())
}

// side is one name of a conflict as the index and the disk have it: the
// local record and the entry there, or neither.
type side struct {
	name  string
	rec   proto.FileInfo
	entry platform.Entry
	here  bool
}

func (s side) token() string {
	if !s.here {
		return ""
	}
	return versionToken(s.rec)
}

func (s side) expect() platform.Expect {
	if !s.here {
		return platform.Expect{Absent: true}
	}
	return platform.Expect{Entry: s.entry}
}

// errUnscanned says the disk and the index disagree at a name.
var errUnscanned = errors.New("changed since the folder was last scanned")

// sideOf reads name from r's index and disk. They must agree: a file
// changed on disk since the last scan fails with errUnscanned.
func sideOf(r *folderRunner, name string) (side, error) {
	s := side{name: name}
	rec, ok, err := r.idx.Get(index.Local, name)
	if err != nil {
		return s, err
	}
	live := ok && !rec.Deleted
	e, err := r.fs.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !live:
		return s, nil
	case errors.Is(err, fs.ErrNotExist), err == nil && (!live || !sameStat(rec, e)):
		return s, fmt.Errorf("%s %w", name, errUnscanned)
	case err != nil:
		return s, err
	}
	s.rec, s.entry, s.here = rec, e, true
	return s, nil
}

// ResolveConflict implements web.Conflicts. It refuses a receive-only
// folder (changes made there are not sent, so a resolution would stay on
// this device, listed as a local change: resolve it on a device that
// sends, and revert the folder here), and, unless both versions stay, a
// folder that keeps no history, since the version that goes would be
// lost.
func (n *Node) ResolveConflict(ctx context.Context, req web.ResolveRequest) (web.ResolveResult, error) {
	switch req.Keep {
	case web.KeepCopy, web.KeepOriginal, web.KeepBoth:
	default:
		return web.ResolveResult{}, web.BadRequest(fmt.Errorf("keep %q: want %s, %s or %s", req.Keep, web.KeepCopy, web.KeepOriginal, web.KeepBoth))
	}
	r, cfg, err := n.conflictFolder(req.Folder)
	if err != nil {
		return web.ResolveResult{}, err
	}
	switch {
	case cfg.Type == config.ReceiveOnly:
		return web.ResolveResult{}, web.BadRequest(fmt.Errorf("folder %s is receive-only: a change made here is not sent; resolve the conflict on a device that sends changes, then `ferry folder revert %s` here drops what only this device has", req.Folder, req.Folder))
	case req.Keep != web.KeepBoth && cfg.Keep.None():
		return web.ResolveResult{}, web.BadRequest(fmt.Errorf("folder %s keeps no history (--keep none): the version removed would be lost; keep both, or set --keep first", req.Folder))
	}
	resolveMu.Lock()
	defer resolveMu.Unlock()
	cp, orig, err := checkConflict(ctx, r, req)
	if err != nil {
		return web.ResolveResult{}, err
	}
	var res web.ResolveResult
	switch req.Keep {
	case web.KeepCopy:
		res, err = n.keepCopy(r, cp, orig)
	case web.KeepOriginal:
		res, err = n.dropCopy(r, cp, orig)
	default:
		res, err = n.keepBoth(r, cp, orig, knownDevices(n.id, n.config()))
	}
	if err != nil {
		return res, fmt.Errorf("resolve %s: %w", cp.name, err)
	}
	r.log.Info("conflict resolved", "file", orig.name, "copy", cp.name, "keep", req.Keep, "name", res.Name)
	for _, name := range []string{cp.name, res.Name} {
		if err := r.scan(ctx, name); err != nil {
			return res, fmt.Errorf("resolve %s: scan %s: %w", cp.name, name, err)
		}
	}
	return res, nil
}

// config returns a copy of the configuration.
func (n *Node) config() config.Config {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.cfg.Clone()
}

// conflictFolder returns the running folder a resolve names and its
// configuration.
func (n *Node) conflictFolder(folder string) (*folderRunner, config.Folder, error) {
	r, err := n.historyRunner(folder)
	if err != nil {
		return nil, config.Folder{}, err
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	h := n.folders[folder]
	if h == nil {
		return nil, config.Folder{}, web.NotFound(fmt.Errorf("no folder %q", folder))
	}
	return r, h.cfg, nil
}

// checkConflict checks that req names a conflict copy of r's folder and
// that neither it nor its original changed since they were listed, and
// returns both. A name the disk and the index disagree on is scanned, so
// that a new listing shows what is there.
func checkConflict(ctx context.Context, r *folderRunner, req web.ResolveRequest) (cp, orig side, err error) {
	if err := proto.ValidName(req.Copy); err != nil {
		return cp, orig, web.BadRequest(err)
	}
	c, ok := engine.ParseConflictName(req.Copy)
	if !ok {
		return cp, orig, web.BadRequest(fmt.Errorf("%s is not the name of a conflict copy (name.conflict-YYYYMMDD-HHMMSS-DEVICE.ext)", req.Copy))
	}
	for _, s := range []struct {
		p    *side
		name string
	}{{&cp, req.Copy}, {&orig, c.Original}} {
		*s.p, err = sideOf(r, s.name)
		if errors.Is(err, errUnscanned) {
			if serr := r.scan(ctx, s.name); serr != nil {
				return cp, orig, fmt.Errorf("scan %s: %w", s.name, serr)
			}
			return cp, orig, web.BadRequest(fmt.Errorf("%w; list the conflicts again", err))
		}
		if err != nil {
			return cp, orig, err
		}
	}
	switch {
	case !cp.here || cp.rec.Type != proto.FileTypeFile:
		return cp, orig, web.NotFound(fmt.Errorf("no conflict copy %s in folder %s", req.Copy, req.Folder))
	case cp.token() != req.CopyVersion:
		return cp, orig, web.BadRequest(fmt.Errorf("%s changed since it was listed; list the conflicts again", req.Copy))
	case orig.token() != req.OriginalVersion:
		return cp, orig, web.BadRequest(fmt.Errorf("%s changed since it was listed; list the conflicts again", orig.name))
	case req.Keep == web.KeepCopy && orig.here && orig.rec.Type != proto.FileTypeFile:
		return cp, orig, web.BadRequest(fmt.Errorf("%s is a %s, not a file: keep both, or move it yourself", orig.name, orig.rec.Type))
	}
	return cp, orig, nil
}

// keepCopy makes the copy's content the file at the original's name and
// removes the copy; the original and the copy are kept in the history
// first.
func (n *Node) keepCopy(r *folderRunner, cp, orig side) (web.ResolveResult, error) {
	if orig.here {
		if err := n.keeper.keep(r.id, r.fs, &engine.Keep{File: orig.rec, Kind: engine.KeepReplaced, By: n.id.Short()}); err != nil {
			return web.ResolveResult{}, err
		}
	}
	if err := n.keeper.keep(r.id, r.fs, &engine.Keep{File: cp.rec, Kind: engine.KeepDeleted, By: n.id.Short()}); err != nil {
		return web.ResolveResult{}, err
	}
	tmp, _, err := r.fs.OpenTemp(orig.name, "resolve")
	if err != nil {
		return web.ResolveResult{}, err
	}
	if err := tmp.Truncate(0); err != nil {
		tmp.Close()
		return web.ResolveResult{}, err
	}
	if err := n.assemble(r, cp.rec, tmp, proto.DeviceID{}); err != nil {
		tmp.Close()
		return web.ResolveResult{}, err
	}
	if err := r.fs.CommitTemp(tmp, orig.name, orig.expect(), cp.rec.ModTime, cp.rec.Mode, ""); err != nil {
		return web.ResolveResult{}, err
	}
	if err := r.fs.Remove(cp.name, cp.expect()); err != nil {
		return web.ResolveResult{}, err
	}
	return web.ResolveResult{Name: orig.name, Removed: cp.name}, nil
}

// dropCopy removes the copy after keeping it in the history.
func (n *Node) dropCopy(r *folderRunner, cp, orig side) (web.ResolveResult, error) {
	if err := n.keeper.keep(r.id, r.fs, &engine.Keep{File: cp.rec, Kind: engine.KeepDeleted, By: n.id.Short()}); err != nil {
		return web.ResolveResult{}, err
	}
	if err := r.fs.Remove(cp.name, cp.expect()); err != nil {
		return web.ResolveResult{}, err
	}
	return web.ResolveResult{Name: orig.name, Removed: cp.name}, nil
}

// maxPlainTries bounds the numbered plain names tried for a copy.
const maxPlainTries = 100

// keepBoth renames the copy to a plain name beside the original (see
// plainName), the first of them that is free.
func (n *Node) keepBoth(r *folderRunner, cp, orig side, devs map[proto.ShortID]config.Device) (web.ResolveResult, error) {
	for i := 1; i <= maxPlainTries; i++ {
		name := plainName(orig.name, cp.rec, devs, i)
		if err := proto.ValidName(name); err != nil {
			return web.ResolveResult{}, fmt.Errorf("no plain name for the copy: %w", err)
		}
		if rec, ok, err := r.idx.Get(index.Local, name); err != nil {
			return web.ResolveResult{}, err
		} else if ok && !rec.Deleted {
			continue
		}
		err := r.fs.Rename(cp.name, name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return web.ResolveResult{}, err
		}
		return web.ResolveResult{Name: name}, nil
	}
	return web.ResolveResult{}, fmt.Errorf("the names %s and %d more are taken", plainName(orig.name, cp.rec, devs, 1), maxPlainTries-1)
}

// maxLabel bounds the device name in a plain name, in characters.
const maxLabel = 32

// plainName is the i-th choice of an ordinary name for the copy f of
// original: "name (DEVICE YYYY-MM-DD HH.MM).ext", with " i" before the
// closing parenthesis for i > 1. DEVICE is the name of the device that
// made the copy's version, cut to what any file system takes, or its short
// ID; the time is its modification time, UTC. A name too long for a file
// system loses the end of its stem.
func plainName(original string, f proto.FileInfo, devs map[proto.ShortID]config.Device, i int) string {
	label := deviceLabel(devs[f.ModifiedBy].Name)
	if label == "" {
		label = f.ModifiedBy.String()
	}
	suffix := " (" + label + " " + time.Unix(0, f.ModTime).UTC().Format("2006-01-02 15.04")
	if i > 1 {
		suffix += fmt.Sprintf(" %d", i)
	}
	suffix += ")"
	dir, base := path.Split(original)
	ext := path.Ext(base)
	if ext == base {
		ext = ""
	}
	stem := strings.TrimSuffix(base, ext)
	const maxBase = 255 // bytes, as most file systems allow
	if over := len(stem) + len(suffix) + len(ext) - maxBase; over > 0 {
		stem = cutBytes(stem, len(stem)-over)
	}
	return dir + stem + suffix + ext
}

// deviceLabel is a device name as a part of a file name: letters, digits
// and "-_+,'" only, anything else a space, at most maxLabel characters.
func deviceLabel(name string) string {
	var b strings.Builder
	n := 0
	for _, c := range name {
		if n == maxLabel {
			break
		}
		switch {
		case unicode.IsLetter(c), unicode.IsDigit(c), strings.ContainsRune("-_+,'", c):
		default:
			c = ' '
		}
		b.WriteRune(c)
		n++
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// cutBytes cuts s to at most n bytes without splitting a character.
func cutBytes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:min(n, len(s))]
}
