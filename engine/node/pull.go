package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/zeebo/blake3"
	"golang.org/x/sync/errgroup"

	"ferry/engine"
	"ferry/index/chunker"
	"ferry/platform"
	"ferry/proto"
)

const (
	// blocksInFlight is how many blocks of one file are fetched at once.
	blocksInFlight = 32
	// folderBlocksInFlight bounds the blocks one folder fetches at once
	// across all its pulls, and so the memory they hold.
	folderBlocksInFlight = 256
)

// pull builds op.File in a temp file beside its name — blocks copied from
// local files where the engine found them, the rest fetched from peers, each
// verified against its hash — then commits it if the name still holds what
// the engine expects. A temp file left by an interrupted pull of the same
// version is reused: blocks it already holds are not fetched again.
func (r *folderRunner) pull(ctx context.Context, op engine.PullOp, res *engine.OpResult) error {
	f := op.File
	ex := expect(op.Expect)
	if !op.Expect.Absent && op.Expect.Stat.Type != proto.FileTypeFile && op.ConflictName == "" {
		if err := r.clearWay(f.Name, op.Expect, "", proto.FileTypeFile, res); err != nil {
			return err
		}
		ex = platform.Expect{Absent: true}
	}
	tag := tempTag(&f)
	defer r.temps.use(r.fs.TempName(f.Name, tag))()
	tmp, existed, err := r.fs.OpenTemp(f.Name, tag)
	if err != nil {
		return err
	}
	if err := r.fill(ctx, tmp, existed, op); err != nil {
		tmp.Close()
		return fmt.Errorf("pull %s: %w", f.Name, err)
	}
	if err := r.keep(op.Keep); err != nil {
		tmp.Close()
		return err
	}
	done := r.commits.commit(ctx, &commitReq{
		tmp: tmp, name: f.Name, expect: ex, mtime: f.ModTime, mode: f.Mode, conflict: op.ConflictName,
	})
	if done.err != nil {
		return done.err
	}
	res.Stat = engine.Stat(done.entry) // zero where the platform could not say
	if op.ConflictName != "" {
		if e, err := r.fs.Lstat(op.ConflictName); err == nil {
			st := engine.Stat(e)
			res.Conflict = &st
		}
	}
	return nil
}

// fill writes every block of op.File into tmp. A block that occurs several
// times in the file (runs of zeros, repeated records) is fetched once.
func (r *folderRunner) fill(ctx context.Context, tmp *os.File, existed bool, op engine.PullOp) error {
	f := &op.File
	if err := tmp.Truncate(f.Size); err != nil {
		return fmt.Errorf("size temp file: %w", err)
	}
	src := newLocalFiles(r.fs)
	defer src.close()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(blocksInFlight)
	missing := missingBlocks(tmp, existed, f.Blocks)
	prog := r.pulls.begin(f.Name, f.Size, f.Size-missingBytes(f.Blocks, missing))
	for i, offsets := range missing {
		g.Go(func() error {
			if err := r.acquireBlock(ctx); err != nil {
				return err
			}
			defer r.releaseBlock()
			data, err := r.block(ctx, op, i, src)
			if err != nil {
				return err
			}
			defer proto.PutBuffer(data)
			for _, off := range offsets {
				if _, err := tmp.WriteAt(data, off); err != nil {
					return fmt.Errorf("write temp file: %w", err)
				}
				r.pulled.Add(int64(len(data)))
				prog.add(int64(len(data)))
			}
			return nil
		})
	}
	return g.Wait()
}

// missingBlocks maps the index of the first occurrence of each block hash
// that tmp lacks to every offset where that block belongs.
func missingBlocks(tmp *os.File, existed bool, blocks []proto.Block) map[int][]int64 {
	first := make(map[proto.Hash]int, len(blocks))
	out := make(map[int][]int64)
	for i, b := range blocks {
		if existed && holds(tmp, b) {
			continue
		}
		j, seen := first[b.Hash]
		if !seen {
			first[b.Hash], j = i, i
		}
		out[j] = append(out[j], b.Offset)
	}
	return out
}

// missingBytes is how many bytes of the file the missing blocks fill.
func missingBytes(blocks []proto.Block, missing map[int][]int64) int64 {
	var n int64
	for i, offsets := range missing {
		n += int64(blocks[i].Size) * int64(len(offsets))
	}
	return n
}

// holds reports whether tmp already has block b at its offset.
func holds(tmp *os.File, b proto.Block) bool {
	buf := make([]byte, b.Size)
	if _, err := tmp.ReadAt(buf, b.Offset); err != nil {
		return false
	}
	return chunker.HashBlock(buf) == b.Hash
}

// block gets block i of op.File: from a local copy when one verifies, else
// from the peers that hold the version, starting at a different peer for
// each block so the load spreads; a block whose hash does not match is
// rejected and asked of the next peer.
func (r *folderRunner) block(ctx context.Context, op engine.PullOp, i int, src *localFiles) ([]byte, error) {
	b := op.File.Blocks[i]
	if i < len(op.Local) && op.Local[i].Name != "" {
		data, err := src.read(op.Local[i].Name, op.Local[i].Offset, int(b.Size))
		if err == nil && chunker.HashBlock(data) == b.Hash {
			return data, nil
		}
		if err == nil {
			proto.PutBuffer(data)
		}
	}
	errs := []error{errors.New("no connected device has this version")}
	for k := range op.Peers {
		dev := op.Peers[(i+k)%len(op.Peers)]
		data, err := r.net.request(ctx, dev, &proto.Request{
			Folder: r.id, Name: op.File.Name, Offset: b.Offset, Size: b.Size, Hash: b.Hash,
		})
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", dev.Abbrev(), err))
		case chunker.HashBlock(data) != b.Hash:
			proto.PutBuffer(data)
			errs = append(errs, fmt.Errorf("%s: block at %d: hash mismatch", dev.Abbrev(), b.Offset))
		default:
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("block at offset %d: %w", b.Offset, errors.Join(errs[1:]...))
}

// tempTag names the temp file of one version of a file, so an interrupted
// pull of the same version finds it again.
func tempTag(f *proto.FileInfo) string {
	h := blake3.New()
	h.Write([]byte(f.Version.String()))
	for _, b := range f.Blocks {
		h.Write(b.Hash[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// temps are the temp files pulls are using.
type temps struct {
	mu    sync.Mutex
	inUse map[string]int
}

// use marks the temp file name in use until the returned func is called.
func (t *temps) use(name string) (done func()) {
	t.mu.Lock()
	if t.inUse == nil {
		t.inUse = make(map[string]int)
	}
	t.inUse[name]++
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		if t.inUse[name]--; t.inUse[name] <= 0 {
			delete(t.inUse, name)
		}
		t.mu.Unlock()
	}
}

// cleanTemps removes the temp files no pull is using: the engine asks once
// nothing waits to be pulled, so what is there was left by a crash or by a
// pull of a version that was replaced.
func (r *folderRunner) cleanTemps() engine.TempsCleaned {
	n, err := r.fs.CleanTemps(&r.temps.mu, func(name string) bool { return r.temps.inUse[name] > 0 })
	if n > 0 {
		r.log.Info("removed temp files left by pulls that did not finish", "files", n)
	}
	if err != nil {
		r.log.Warn("could not remove every leftover temp file; trying again later", "err", err)
	}
	return engine.TempsCleaned{Removed: n, Err: err}
}

// localFiles keeps local source files open for the duration of one pull.
type localFiles struct {
	fs    *platform.Folder
	mu    sync.Mutex
	files map[string]*os.File
}

func newLocalFiles(fs *platform.Folder) *localFiles {
	return &localFiles{fs: fs, files: make(map[string]*os.File)}
}

func (l *localFiles) read(name string, off int64, size int) ([]byte, error) {
	l.mu.Lock()
	f, ok := l.files[name]
	if !ok {
		var err error
		if f, err = l.fs.Open(name); err != nil {
			l.mu.Unlock()
			return nil, err
		}
		l.files[name] = f
	}
	l.mu.Unlock()
	buf := proto.GetBuffer(size)
	if _, err := f.ReadAt(buf, off); err != nil {
		proto.PutBuffer(buf)
		return nil, err
	}
	return buf, nil
}

func (l *localFiles) close() {
	for _, f := range l.files {
		f.Close()
	}
}

func (r *folderRunner) acquireBlock(ctx context.Context) error {
	select {
	case r.blockSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *folderRunner) releaseBlock() { <-r.blockSlots }
