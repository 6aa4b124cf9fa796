package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"ferry/engine"
	"ferry/index"
	"ferry/index/history"
	"ferry/platform"
	"ferry/proto"
	"ferry/web"
)

// pastFile is a file as it was at a moment: a kept version, or the current
// record (id 0) when it has not changed since.
type pastFile struct {
	file  proto.FileInfo
	id    uint64
	kind  history.Kind // 0 for the current record
	by    proto.ShortID
	until time.Time // when the kept version was replaced; zero for the current record
	// from is the device that has it, zero for this one: in its history,
	// or as its current file when id is 0.
	from proto.DeviceID
}

// folderAt returns the files of r's folder as they were at at, by name.
//
// A name's kept versions follow each other: the one replaced first after
// at was the file then. When none was replaced after at, the current
// record was the file then if it had become the file by at: after its last
// kept version was replaced, or, with none kept, when it was last
// modified. A first kept version modified after at did not exist yet. A
// deletion this device made itself is not in its history, so what a
// device deleted on its own is not brought back from its own history.
func (n *Node) folderAt(r *folderRunner, at time.Time) (map[string]pastFile, error) {
	out := make(map[string]pastFile)
	lastUntil := make(map[string]time.Time) // names with kept versions all replaced by at
	var name string
	var vs []history.Version
	judge := func() {
		if len(vs) == 0 {
			return
		}
		i := slices.IndexFunc(vs, func(v history.Version) bool { return v.Until.After(at) })
		switch {
		case i < 0:
			lastUntil[name] = vs[len(vs)-1].Until
		case i == 0 && time.Unix(0, vs[0].File.ModTime).After(at):
			out[name] = pastFile{} // marks the name as judged: absent then
		default:
			v := vs[i]
			out[name] = pastFile{file: v.File, id: v.ID, kind: v.Kind, by: v.By, until: v.Until}
		}
		vs = vs[:0]
	}
	err := n.keeper.hist.Each(r.id, func(v history.Version) error {
		if v.File.Name != name {
			judge()
			name = v.File.Name
		}
		vs = append(vs, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	judge()
	err = r.idx.EachLocal(func(f proto.FileInfo) error {
		if f.Deleted || f.Type != proto.FileTypeFile {
			return nil
		}
		if _, judged := out[f.Name]; judged {
			return nil
		}
		since, kept := lastUntil[f.Name]
		if !kept {
			since = time.Unix(0, f.ModTime)
		}
		if !since.After(at) {
			out[f.Name] = pastFile{file: f, by: f.ModifiedBy}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name, p := range out {
		if p.file.Name == "" {
			delete(out, name)
		}
	}
	return out, nil
}

// folderAtAll is folderAt over this device and every connected device the
// folder is shared with: for each name, a version some device kept (the
// one replaced soonest after at) beats a current record, which can only
// guess that a file existed then from when it was modified; among current
// records this device's is taken, whose blocks are here.
func (n *Node) folderAtAll(ctx context.Context, r *folderRunner, at time.Time) (map[string]pastFile, error) {
	files, err := n.folderAt(r, at)
	if err != nil {
		return nil, err
	}
	for _, peer := range n.peersFolderAt(ctx, r, at) {
		for _, v := range peer.answer {
			p := pastFile{file: v.File, id: v.ID, kind: history.Kind(v.Kind), by: v.By, from: peer.dev}
			if v.ID != 0 {
				p.until = time.Unix(0, v.Until)
			}
			cur, ok := files[v.File.Name]
			switch {
			case !ok:
				files[v.File.Name] = p
			case p.id != 0 && (cur.id == 0 || p.until.Before(cur.until)):
				files[v.File.Name] = p
			}
		}
	}
	return files, nil
}

// peersFolderAt asks every connected device the folder is shared with what
// each of its files was at at; a device that fails to answer is left out.
func (n *Node) peersFolderAt(ctx context.Context, r *folderRunner, at time.Time) []answer[[]proto.HistoryVersion] {
	return askShared(n, r.id, func(c *peerConn) ([]proto.HistoryVersion, error) { return c.askFolderAt(ctx, r.id, at) })
}

// FolderAt implements web.History.
func (n *Node) FolderAt(ctx context.Context, folder string, at time.Time) ([]web.VersionInfo, error) {
	r, err := n.historyRunner(folder)
	if err != nil {
		return nil, err
	}
	files, err := n.folderAtAll(ctx, r, at)
	if err != nil {
		return nil, err
	}
	out := make([]web.VersionInfo, 0, len(files))
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := files[name]
		kind := "current"
		if p.kind != 0 {
			kind = p.kind.String()
		}
		vi := web.VersionInfo{ID: p.id, Name: name, Size: p.file.Size, ModTime: time.Unix(0, p.file.ModTime),
			Until: p.until, Kind: kind, By: p.by.String()}
		if !p.from.IsZero() {
			vi.Device = p.from.String()
		}
		out = append(out, vi)
	}
	return out, nil
}

// Moments implements web.History.
func (n *Node) Moments(ctx context.Context, folder string) ([]time.Time, error) {
	if _, err := n.historyRunner(folder); err != nil {
		return nil, err
	}
	var ts []time.Time
	err := n.keeper.hist.Each(folder, func(v history.Version) error {
		ts = append(ts, v.Until)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return b.Compare(a) })
	ts = slices.CompactFunc(ts, time.Time.Equal)
	return ts[:min(len(ts), web.MaxMoments)], nil
}

// RestoreFolder implements web.History.
func (n *Node) RestoreFolder(ctx context.Context, req web.FolderRestoreRequest, progress func(web.RestoreProgress)) (web.FolderRestoreResult, error) {
	r, err := n.historyRunner(req.Folder)
	if err != nil {
		return web.FolderRestoreResult{}, err
	}
	files, err := n.folderAtAll(ctx, r, req.At)
	if err != nil {
		return web.FolderRestoreResult{}, err
	}
	if len(files) == 0 {
		return web.FolderRestoreResult{}, web.BadRequest(fmt.Errorf("folder %s held no file at %s that this device knows of",
			req.Folder, req.At.Format(time.RFC3339)))
	}
	p := web.RestoreProgress{TotalFiles: len(files)}
	for _, f := range files {
		p.TotalBytes += f.file.Size
	}
	if req.To != "" {
		return n.restoreFolderTo(ctx, r, files, req.To, p, progress)
	}
	return n.restoreFolderInPlace(ctx, r, files, req.Exact, p, progress)
}

// restoreWorkers is how many files a folder restore writes at once: reads
// from the store and writes of the files overlap.
const restoreWorkers = 4

// restoreFolderTo writes files under dir, which must be missing or empty.
func (n *Node) restoreFolderTo(ctx context.Context, r *folderRunner, files map[string]pastFile, dir string,
	p web.RestoreProgress, progress func(web.RestoreProgress)) (web.FolderRestoreResult, error) {
	if !filepath.IsAbs(dir) {
		return web.FolderRestoreResult{}, web.BadRequest(fmt.Errorf("--to %s: give an absolute directory", dir))
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return web.FolderRestoreResult{}, web.BadRequest(fmt.Errorf("%s is not empty; restore a folder into an empty or new directory", dir))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return web.FolderRestoreResult{}, err
	}
	if rel, err := filepath.Rel(r.fs.Path(), dir); err == nil && !strings.HasPrefix(rel, "..") {
		return web.FolderRestoreResult{}, web.BadRequest(fmt.Errorf("%s is inside the folder; restore in place or somewhere else", dir))
	}
	// The files are written into a directory beside dir, which becomes dir
	// only once every file is there: a restore that fails half way leaves
	// nothing that looks like the folder.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return web.FolderRestoreResult{}, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(dir), ".ferry-restore-"+filepath.Base(dir)+"-")
	if err != nil {
		return web.FolderRestoreResult{}, err
	}
	defer os.RemoveAll(stage) // gone once renamed
	res := web.FolderRestoreResult{Path: dir}
	var mu sync.Mutex // guards res, p and progress
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(restoreWorkers)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		f := files[name]
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			dest := filepath.Join(stage, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
				return err
			}
			if err := n.writeNew(r, f.file, dest, f.from); err != nil {
				return fmt.Errorf("restore %s: %w", name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Files++
			res.Bytes += f.file.Size
			p.Files, p.Bytes = res.Files, res.Bytes
			progress(p)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return res, err
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("%s is no longer empty: %w", dir, err)
	}
	if err := os.Rename(stage, dir); err != nil {
		return res, err
	}
	return res, nil
}

// restoreFolderInPlace brings each file of the folder back to what it was;
// with exact, files that did not exist then are kept in the history and
// removed. One scan then records it all, and it syncs as local changes.
func (n *Node) restoreFolderInPlace(ctx context.Context, r *folderRunner, files map[string]pastFile, exact bool,
	p web.RestoreProgress, progress func(web.RestoreProgress)) (web.FolderRestoreResult, error) {
	res := web.FolderRestoreResult{Path: r.fs.Path()}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		f := files[name]
		changed, err := n.putBack(r, f.file, f.id, f.from)
		if err != nil {
			return res, fmt.Errorf("restore %s: %w", name, err)
		}
		if changed {
			res.Files++
			res.Bytes += f.file.Size
		} else {
			res.Unchanged++
		}
		p.Files, p.Bytes = res.Files+res.Unchanged, p.Bytes+f.file.Size
		progress(p)
	}
	if exact {
		n, err := n.removeNewer(r, files)
		res.Removed = n
		if err != nil {
			return res, err
		}
	}
	return res, r.scan(ctx, "")
}

// putBack writes f at its name unless what is there already is f; what is
// there is kept in the history first. It reports whether it wrote.
func (n *Node) putBack(r *folderRunner, f proto.FileInfo, id uint64, from proto.DeviceID) (bool, error) {
	ex := platform.Expect{Absent: true}
	if e, err := r.fs.Lstat(f.Name); err == nil {
		cur, ok, err := r.idx.Get(index.Local, f.Name)
		if err != nil {
			return false, err
		}
		if !ok || cur.Deleted || !sameStat(cur, e) {
			return false, fmt.Errorf("changed since it was last scanned; scan the folder, then try again")
		}
		if proto.SameContent(&cur, &f) && cur.ModTime == f.ModTime && cur.Mode == f.Mode {
			return false, nil
		}
		if e.Type == proto.FileTypeFile {
			if err := n.keeper.keep(r.id, r.fs, &engine.Keep{File: cur, Kind: engine.KeepReplaced, By: n.id.Short()}); err != nil {
				return false, err
			}
		}
		ex = platform.Expect{Entry: e}
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	tmp, _, err := r.fs.OpenTemp(f.Name, fmt.Sprintf("restore-%d", id))
	if err != nil {
		return false, err
	}
	if err := tmp.Truncate(0); err != nil {
		tmp.Close()
		return false, err
	}
	if err := n.assemble(r, f, tmp, from); err != nil {
		tmp.Close()
		return false, err
	}
	return true, r.fs.CommitTemp(tmp, f.Name, ex, f.ModTime, f.Mode, "")
}

// removeNewer keeps and removes the live files of the folder that files
// does not hold: made after the moment restored.
func (n *Node) removeNewer(r *folderRunner, files map[string]pastFile) (int, error) {
	var newer []proto.FileInfo
	err := r.idx.EachLocal(func(f proto.FileInfo) error {
		if _, ok := files[f.Name]; !ok && !f.Deleted && f.Type == proto.FileTypeFile {
			newer = append(newer, f)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, f := range newer {
		e, err := r.fs.Lstat(f.Name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil || !sameStat(f, e) {
			return removed, fmt.Errorf("%s changed since it was last scanned; scan the folder, then try again", f.Name)
		}
		if err := n.keeper.keep(r.id, r.fs, &engine.Keep{File: f, Kind: engine.KeepReverted, By: n.id.Short()}); err != nil {
			return removed, err
		}
		if err := r.fs.Remove(f.Name, platform.Expect{Entry: e}); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// writeNew writes f as the new file dest, through a temp file beside it,
// never over anything.
func (n *Node) writeNew(r *folderRunner, f proto.FileInfo, dest string, from proto.DeviceID) error {
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".ferry-restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = n.assemble(r, f, tmp, from)
	if err == nil {
		err = tmp.Chmod(os.FileMode(f.Mode & 0o777))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	mt := time.Unix(0, f.ModTime)
	if err := os.Chtimes(tmp.Name(), mt, mt); err != nil {
		return err
	}
	return os.Link(tmp.Name(), dest)
}
