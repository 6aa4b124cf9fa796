package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"time"

	"ferry/engine"
	"ferry/index/chunker"
	"ferry/platform"
	"ferry/proto"
)

func hashWorkers() int { return max(2, runtime.NumCPU()) }

// walk performs a ScanOp. A subtree that no longer exists yields no entries;
// a folder whose root or marker is missing is an error, never "all deleted".
// walkBatch is how many entries one walk reports at most: the engine asks
// for the rest when it is ready for them (see engine.ScanOp).
var walkBatch = 4096

// errWalkBatch stops a walk that has reported walkBatch entries.
var errWalkBatch = errors.New("walk batch full")

func (r *folderRunner) walk(op engine.ScanOp) engine.ScanResult {
	res := engine.ScanResult{Subtree: op.Subtree, After: op.After}
	if err := r.fs.Verify(); err != nil {
		res.Err = err
		select {
		case r.lost <- err:
		default:
		}
		return res
	}
	err := r.fs.WalkAfter(op.Subtree, op.After, func(e platform.Entry) error {
		if len(res.Entries) == walkBatch {
			res.More = true
			return errWalkBatch
		}
		res.Entries = append(res.Entries, engine.Stat(e))
		return nil
	}, func(name string, err error) {
		res.Skipped = append(res.Skipped, engine.Skip{Name: name, Err: err, Special: errors.Is(err, platform.ErrSpecial)})
	})
	if errors.Is(err, errWalkBatch) {
		err = nil
	}
	if err != nil && !(op.Subtree != "" && errors.Is(err, fs.ErrNotExist)) {
		res.Err = fmt.Errorf("scan %s: %w", op.Subtree, err)
	}
	return res
}

func (r *folderRunner) hashWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case op := <-r.hashes:
			res := r.hash(op.Stat)
			r.awaitCommits(ctx)
			r.in.put(res)
		}
	}
}

// awaitCommits waits while the index writes already handed out are more
// than a few Readys: what makes new records (hashing, operations) goes no
// faster than they are committed, so the records waiting for the disk stay
// bounded.
func (r *folderRunner) awaitCommits(ctx context.Context) {
	if r.persist != nil {
		r.persist.queue.waitShorter(maxPendingCommits, ctx.Done(), time.Now().Add(time.Hour))
	}
}

// hash cuts a file into blocks; if the file changes while it is read, the
// result says so and the engine tries again once it has settled.
func (r *folderRunner) hash(st engine.Stat) engine.HashResult {
	res := engine.HashResult{Stat: st}
	f, err := r.fs.Open(st.Name)
	if err != nil {
		res.Err = fmt.Errorf("hash %s: %w", st.Name, err)
		return res
	}
	defer f.Close()
	blocks, err := chunker.Blocks(io.LimitReader(f, st.Size+1), chunker.DefaultParams)
	if err != nil {
		res.Err = fmt.Errorf("hash %s: %w", st.Name, err)
		return res
	}
	after, err := r.fs.Lstat(st.Name)
	if err != nil || after.Size != st.Size || after.ModTime != st.ModTime || after.Inode != st.Inode || sum(blocks) != st.Size {
		res.Err = fmt.Errorf("hash %s: %w", st.Name, engine.ErrFileChanging)
		return res
	}
	res.Blocks = blocks
	return res
}

func sum(blocks []proto.Block) int64 {
	var n int64
	for _, b := range blocks {
		n += int64(b.Size)
	}
	return n
}

// keep keeps the local file kp names in the history, when there is one.
func (r *folderRunner) keep(kp *engine.Keep) error {
	if kp == nil || r.keeper == nil {
		return nil
	}
	return r.keeper.keep(r.id, r.fs, kp)
}

// fileOp performs a pull, mkdir, symlink or delete and describes the outcome.
func (r *folderRunner) fileOp(ctx context.Context, op engine.Op) engine.OpResult {
	var (
		f   proto.FileInfo
		err error
		res engine.OpResult
	)
	switch op := op.(type) {
	case engine.PullOp:
		f = op.File
		err = r.pullWithin(ctx, op, &res)
	case engine.MkdirOp:
		f = op.File
		if err = r.keep(op.Keep); err == nil {
			err = r.mkdir(op, &res)
		}
	case engine.SymlinkOp:
		f = op.File
		if err = r.keep(op.Keep); err == nil {
			err = r.symlink(op, &res)
		}
	case engine.DeleteOp:
		f = op.File
		if err = r.keep(op.Keep); err == nil {
			err = r.fs.Remove(f.Name, expect(op.Expect))
		}
	}
	res.Name, res.Version = f.Name, f.Version
	if err != nil {
		res.Err = err
		res.NoSpace = isNoSpace(err)
		res.Changed = errors.Is(err, platform.ErrChanged)
		res.NotEmpty = errors.Is(err, platform.ErrNotEmpty)
		res.BadName = platform.IsNameRefused(err)
		return res
	}
	if !f.Deleted && res.Stat.Name == "" {
		e, err := r.fs.Lstat(f.Name)
		if err != nil {
			res.Err = fmt.Errorf("stat after write: %w", err)
			return res
		}
		res.Stat = engine.Stat(e)
	}
	return res
}

// pullWithin pulls op if its file fits on disk, keeping its size reserved
// meanwhile.
func (r *folderRunner) pullWithin(ctx context.Context, op engine.PullOp, res *engine.OpResult) error {
	if r.space != nil {
		release, err := r.space.reserve(op.File.Size)
		if err != nil {
			return fmt.Errorf("pull %s: %w", op.File.Name, err)
		}
		defer release()
	}
	return r.pull(ctx, op, res)
}

func (r *folderRunner) mkdir(op engine.MkdirOp, res *engine.OpResult) error {
	if err := r.clearWay(op.File.Name, op.Expect, op.ConflictName, proto.FileTypeDir, res); err != nil {
		return err
	}
	return r.fs.Mkdir(op.File.Name, op.File.Mode, op.File.ModTime)
}

func (r *folderRunner) symlink(op engine.SymlinkOp, res *engine.OpResult) error {
	e := expect(op.Expect)
	if !op.Expect.Absent && op.Expect.Stat.Type != proto.FileTypeSymlink {
		if err := r.clearWay(op.File.Name, op.Expect, op.ConflictName, proto.FileTypeSymlink, res); err != nil {
			return err
		}
		e = platform.Expect{Absent: true}
	} else if op.ConflictName != "" {
		if err := r.moveAside(op.File.Name, op.Expect, op.ConflictName, res); err != nil {
			return err
		}
		e = platform.Expect{Absent: true}
	}
	return r.fs.Symlink(op.File.Target, op.File.Name, e, op.File.ModTime)
}

// clearWay makes room for an entry of type want at name: what is there now
// (as expected) is moved to the conflict copy, or removed when it is an
// older version of another type.
func (r *folderRunner) clearWay(name string, ex engine.Expect, conflict string, want proto.FileType, res *engine.OpResult) error {
	if ex.Absent || ex.Stat.Type == want && conflict == "" {
		return r.fs.Check(name, expect(ex))
	}
	if conflict != "" {
		return r.moveAside(name, ex, conflict, res)
	}
	return r.fs.Remove(name, expect(ex))
}

// moveAside renames what is at name to the conflict copy after checking it
// is what the engine expects.
func (r *folderRunner) moveAside(name string, ex engine.Expect, conflict string, res *engine.OpResult) error {
	if err := r.fs.Check(name, expect(ex)); err != nil {
		return err
	}
	if err := r.fs.Rename(name, conflict); err != nil {
		return fmt.Errorf("keep conflict copy %s: %w", conflict, err)
	}
	e, err := r.fs.Lstat(conflict)
	if err != nil {
		return fmt.Errorf("stat conflict copy %s: %w", conflict, err)
	}
	st := engine.Stat(e)
	res.Conflict = &st
	return nil
}

func expect(e engine.Expect) platform.Expect {
	return platform.Expect{Absent: e.Absent, Entry: platform.Entry(e.Stat)}
}
