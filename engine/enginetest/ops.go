package enginetest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"

	"github.com/zeebo/blake3"

	"ferry/engine"
	"ferry/proto"
)

// BlockSize is the fixed block size MemFS hashes files with.
const BlockSize = 4 << 10

// Errors reported in operation results.
var (
	errChanged  = errors.New("changed on disk")
	errNotEmpty = errors.New("directory not empty")
	errNoSource = errors.New("no source has the block")
)

// Fetcher gets block b of name from peer, or reports false when the peer
// cannot be reached or no longer has that data.
type Fetcher func(peer proto.DeviceID, name string, b proto.Block) ([]byte, bool)

// Blocks cuts data into BlockSize blocks hashed with BLAKE3-256.
func Blocks(data []byte) []proto.Block {
	var out []proto.Block
	for off := 0; off < len(data); off += BlockSize {
		end := min(off+BlockSize, len(data))
		out = append(out, proto.Block{Offset: int64(off), Size: int32(end - off), Hash: blake3.Sum256(data[off:end])})
	}
	return out
}

// walkBatch is how many entries a walk reports at most before it stops,
// few so that walks stop and go on in every simulation.
const walkBatch = 5

// walkOp walks op's subtree after op.After, in byte order, stopping after
// walkBatch entries as a driver does.
func (m *MemFS) walkOp(op engine.ScanOp) engine.ScanResult {
	res := engine.ScanResult{Subtree: op.Subtree, After: op.After}
	batch := cmp.Or(m.walkBatch, walkBatch)
	for _, st := range m.Walk(op.Subtree) {
		if st.Name <= op.After {
			continue
		}
		if len(res.Entries) == batch {
			res.More = true
			break
		}
		res.Entries = append(res.Entries, st)
	}
	return res
}

// Exec carries out op the way a driver does and returns the input to feed
// back to the engine. fetch gets blocks from peers for a PullOp.
func (m *MemFS) Exec(op engine.Op, fetch Fetcher) engine.Input {
	switch op := op.(type) {
	case engine.ScanOp:
		return m.walkOp(op)
	case engine.HashOp:
		return m.hash(op)
	case engine.PullOp:
		return m.pull(op, fetch)
	case engine.MkdirOp:
		return m.mkdirOp(op)
	case engine.SymlinkOp:
		return m.symlinkOp(op)
	case engine.DeleteOp:
		return m.deleteOp(op)
	case engine.CleanTempsOp:
		return engine.TempsCleaned{} // pulls here leave no temp files
	}
	panic(fmt.Sprintf("enginetest: unknown op %T", op))
}

// Fail returns the result of op failing with err before it touched anything.
func Fail(op engine.Op, err error) engine.Input {
	switch op := op.(type) {
	case engine.ScanOp:
		return engine.ScanResult{Subtree: op.Subtree, Err: err}
	case engine.HashOp:
		return engine.HashResult{Stat: op.Stat, Err: err}
	case engine.CleanTempsOp:
		return engine.TempsCleaned{Err: err}
	}
	f := opFile(op)
	return engine.OpResult{Name: f.Name, Version: f.Version, Err: err}
}

// opFile returns the record a file operation writes.
func opFile(op engine.Op) proto.FileInfo {
	switch op := op.(type) {
	case engine.PullOp:
		return op.File
	case engine.MkdirOp:
		return op.File
	case engine.SymlinkOp:
		return op.File
	case engine.DeleteOp:
		return op.File
	}
	return proto.FileInfo{}
}

func (m *MemFS) hash(op engine.HashOp) engine.HashResult {
	n := m.nodes[op.Stat.Name]
	if n == nil || n.typ != proto.FileTypeFile {
		return engine.HashResult{Stat: op.Stat, Err: fmt.Errorf("hash %s: %w", op.Stat.Name, ErrNotExist)}
	}
	return engine.HashResult{Stat: n.stat(op.Stat.Name), Blocks: Blocks(n.data)}
}

// check compares what is at name with e: type, size, modification time,
// permission bits, inode (when both are known) and symlink target; only the
// type for a directory.
func (m *MemFS) check(name string, e engine.Expect) error {
	n := m.nodes[name]
	switch {
	case n == nil && e.Absent:
		return nil
	case n == nil:
		return fmt.Errorf("%s: expected %s, found nothing: %w", name, e.Stat.Type, errChanged)
	case e.Absent:
		return fmt.Errorf("%s: expected nothing, found %s: %w", name, n.typ, errChanged)
	}
	got, want := n.stat(name), e.Stat
	if got.Type == want.Type && got.Type == proto.FileTypeDir {
		return nil
	}
	if got.Type != want.Type || got.Size != want.Size || got.ModTime != want.ModTime ||
		(got.Mode != want.Mode && got.Type != proto.FileTypeSymlink) ||
		(got.Inode != 0 && want.Inode != 0 && got.Inode != want.Inode) || got.Target != want.Target {
		return fmt.Errorf("%s: %+v, expected %+v: %w", name, got, want, errChanged)
	}
	return nil
}

// changedResult is the result of an operation whose expectation failed.
func changedResult(f proto.FileInfo, err error) engine.OpResult {
	return engine.OpResult{Name: f.Name, Version: f.Version, Changed: true, Err: err}
}

// clear makes room at name for a new entry: what is there moves to
// conflict if that is set and free (a rename that never replaces), else it
// is removed (a directory only if empty).
func (m *MemFS) clear(name, conflict string) (*engine.Stat, error) {
	n := m.nodes[name]
	if n == nil {
		return nil, nil
	}
	if conflict != "" {
		if m.nodes[conflict] != nil {
			return nil, fmt.Errorf("conflict copy %s: %w", conflict, ErrExist)
		}
		delete(m.nodes, name)
		st := n.stat(conflict)
		if m.loseConflicts {
			m.lost = append(m.lost, n.data)
			return &st, nil
		}
		m.nodes[conflict] = n
		return &st, nil
	}
	if n.typ == proto.FileTypeDir && !m.isEmptyDir(name) {
		return nil, fmt.Errorf("replace %s: %w", name, errNotEmpty)
	}
	delete(m.nodes, name)
	return nil, nil
}

// gather assembles the content of op.File from local copies and peers,
// verifying every block.
func (m *MemFS) gather(op engine.PullOp, fetch Fetcher) ([]byte, error) {
	var buf bytes.Buffer
	for i, b := range op.File.Blocks {
		data, ok := []byte(nil), false
		if i < len(op.Local) && op.Local[i].Name != "" {
			data, ok = m.readBlock(op.Local[i], b)
		}
		for _, p := range op.Peers {
			if ok || fetch == nil {
				break
			}
			data, ok = fetch(p, op.File.Name, b)
			ok = ok && blake3.Sum256(data) == b.Hash
		}
		if !ok {
			return nil, fmt.Errorf("block at %d: %w", b.Offset, errNoSource)
		}
		buf.Write(data)
	}
	if int64(buf.Len()) != op.File.Size {
		return nil, fmt.Errorf("assembled %d bytes, want %d", buf.Len(), op.File.Size)
	}
	return buf.Bytes(), nil
}

// readBlock reads b from the local file and offset given, if it still holds
// that block.
func (m *MemFS) readBlock(src engine.LocalBlock, b proto.Block) ([]byte, bool) {
	n := m.nodes[src.Name]
	end := src.Offset + int64(b.Size)
	if n == nil || n.typ != proto.FileTypeFile || src.Offset < 0 || end > int64(len(n.data)) {
		return nil, false
	}
	data := n.data[src.Offset:end]
	return bytes.Clone(data), blake3.Sum256(data) == b.Hash
}

// ReadBlock serves a peer's request for block b of name.
func (m *MemFS) ReadBlock(name string, b proto.Block) ([]byte, bool) {
	return m.readBlock(engine.LocalBlock{Name: name, Offset: b.Offset}, b)
}

func (m *MemFS) pull(op engine.PullOp, fetch Fetcher) engine.OpResult {
	f := op.File
	data, err := m.gather(op, fetch)
	if err != nil {
		return engine.OpResult{Name: f.Name, Version: f.Version, Err: fmt.Errorf("pull %s: %w", f.Name, err)}
	}
	return m.replace(f, op.Expect, op.ConflictName, func(inode uint64) *node {
		return &node{typ: proto.FileTypeFile, data: data, mode: f.Mode, mtime: f.ModTime, inode: inode}
	})
}

// replace puts the entry made by mk at f.Name if e still holds, moving what
// is there to conflict if set.
func (m *MemFS) replace(f proto.FileInfo, e engine.Expect, conflict string, mk func(inode uint64) *node) engine.OpResult {
	if err := m.check(f.Name, e); err != nil {
		return changedResult(f, err)
	}
	if err := m.mkdirParents(f.Name, f.ModTime); err != nil {
		return engine.OpResult{Name: f.Name, Version: f.Version, Err: fmt.Errorf("write %s: %w", f.Name, err)}
	}
	cst, err := m.clear(f.Name, conflict)
	if err != nil {
		return engine.OpResult{Name: f.Name, Version: f.Version, Err: fmt.Errorf("write %s: %w", f.Name, err),
			NotEmpty: errors.Is(err, errNotEmpty)}
	}
	n := mk(m.newInode())
	m.nodes[f.Name] = n
	return engine.OpResult{Name: f.Name, Version: f.Version, Stat: n.stat(f.Name), Conflict: cst}
}

// mkdirOp creates a directory; one already there just gets its permission
// bits and time set, as a directory made for a child's sake.
func (m *MemFS) mkdirOp(op engine.MkdirOp) engine.OpResult {
	f := op.File
	if n := m.nodes[f.Name]; n != nil && n.typ == proto.FileTypeDir {
		n.mode, n.mtime = f.Mode, f.ModTime
		return engine.OpResult{Name: f.Name, Version: f.Version, Stat: n.stat(f.Name)}
	}
	return m.replace(f, op.Expect, op.ConflictName, func(inode uint64) *node {
		return &node{typ: proto.FileTypeDir, mode: f.Mode, mtime: f.ModTime, inode: inode}
	})
}

func (m *MemFS) symlinkOp(op engine.SymlinkOp) engine.OpResult {
	f := op.File
	return m.replace(f, op.Expect, op.ConflictName, func(inode uint64) *node {
		return &node{typ: proto.FileTypeSymlink, mode: 0o777, mtime: f.ModTime, inode: inode, target: f.Target}
	})
}

func (m *MemFS) deleteOp(op engine.DeleteOp) engine.OpResult {
	f := op.File
	res := engine.OpResult{Name: f.Name, Version: f.Version}
	if err := m.check(f.Name, op.Expect); err != nil {
		return changedResult(f, err)
	}
	n := m.nodes[f.Name]
	if n == nil {
		return res
	}
	if n.typ == proto.FileTypeDir && !m.isEmptyDir(f.Name) {
		res.NotEmpty, res.Err = true, fmt.Errorf("delete %s: %w", f.Name, errNotEmpty)
		return res
	}
	delete(m.nodes, f.Name)
	return res
}
