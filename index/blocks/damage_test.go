package blocks

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ferry/proto"
)

// damageSetup stores blocks in several packs, closes the store and returns
// the blocks with their locations.
func damageSetup(t *testing.T, seed uint64) (string, []Block, map[proto.Hash]location) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, smallPacks)
	if err != nil {
		t.Fatal(err)
	}
	bs := randBlocks(rand.New(rand.NewPCG(seed, 1)), 80, 500, 4<<10)
	mustPut(t, s, bs)
	locs := make(map[proto.Hash]location)
	for _, b := range bs {
		locs[b.Hash] = mustLocation(t, s, b.Hash)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, bs, locs
}

func flipByte(t *testing.T, dir string, pack uint64, off int64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "packs", packName(pack)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// checkDamaged fails unless Get of b reports damage at loc and returns no
// data.
func checkDamaged(t *testing.T, s *Store, b Block, loc location) {
	t.Helper()
	data, err := s.Get(b.Hash, make([]byte, 0, len(b.Data)))
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("get of a damaged block: %v, want ErrDamaged", err)
	}
	if data != nil {
		t.Fatal("get of a damaged block returned data")
	}
	msg := err.Error()
	if !strings.Contains(msg, packName(loc.pack)) || !strings.Contains(msg, "offset "+strconv.FormatInt(loc.offset, 10)) {
		t.Errorf("error %q does not name pack %s and offset %d", msg, packName(loc.pack), loc.offset)
	}
}

// checkVerify fails unless Verify reports exactly the blocks in want, each
// with an error that errors.Is cause.
func checkVerify(t *testing.T, s *Store, opts VerifyOptions, total int, want []Block, cause error) VerifyReport {
	t.Helper()
	rep, err := s.Verify(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blocks != int64(total) || rep.DamagedBlocks != int64(len(want)) || len(rep.Damaged) != len(want) {
		t.Fatalf("verify read %d blocks, found %d damaged (%d listed); want %d and %d", rep.Blocks, rep.DamagedBlocks, len(rep.Damaged), total, len(want))
	}
	bad := make(map[proto.Hash]bool)
	for _, b := range want {
		bad[b.Hash] = true
	}
	for _, d := range rep.Damaged {
		if !bad[d.Hash] {
			t.Errorf("verify reports block %s, which is good", d.Hash)
		}
		if !errors.Is(d.Err, ErrDamaged) || !errors.Is(d.Err, cause) {
			t.Errorf("damage %v does not wrap ErrDamaged and %v", d.Err, cause)
		}
	}
	return rep
}

func TestFlippedByte(t *testing.T) {
	dir, bs, locs := damageSetup(t, 21)
	inData, inHeader := bs[5], bs[40]
	flipByte(t, dir, locs[inData.Hash].pack, locs[inData.Hash].offset+recordHeaderSize+int64(len(inData.Data))/2)
	flipByte(t, dir, locs[inHeader.Hash].pack, locs[inHeader.Hash].offset+20) // in the hash

	s := openStore(t, dir, smallPacks)
	checkDamaged(t, s, inData, locs[inData.Hash])
	checkDamaged(t, s, inHeader, locs[inHeader.Hash])
	damagedBlocks := []Block{inData, inHeader}
	var good []Block
	for _, b := range bs {
		if b.Hash != inData.Hash && b.Hash != inHeader.Hash {
			good = append(good, b)
		}
	}
	checkBlocks(t, s, good)
	rep := checkVerify(t, s, VerifyOptions{}, len(bs), damagedBlocks, ErrDamaged)
	for _, d := range rep.Damaged {
		if d.Pack != packName(locs[d.Hash].pack) || d.Offset != locs[d.Hash].offset {
			t.Errorf("damage at %s offset %d, block is at %s offset %d", d.Pack, d.Offset, packName(locs[d.Hash].pack), locs[d.Hash].offset)
		}
	}

	// A damaged block is held: Put does not store it again until it is
	// dropped.
	mustPut(t, s, damagedBlocks)
	checkDamaged(t, s, inData, locs[inData.Hash])
	rep = checkVerify(t, s, VerifyOptions{Drop: true}, len(bs), damagedBlocks, ErrDamaged)
	if rep.Dropped != 2 {
		t.Fatalf("verify dropped %d blocks, want 2", rep.Dropped)
	}
	checkGone(t, s, damagedBlocks)
	checkConsistent(t, s)
	mustPut(t, s, damagedBlocks)
	checkBlocks(t, s, bs)
	checkVerify(t, s, VerifyOptions{}, len(bs), nil, nil)
	checkConsistent(t, s)
}

func TestTruncatedPack(t *testing.T) {
	dir, bs, locs := damageSetup(t, 22)
	// Cut the last pack in the middle of a block's data: that block and
	// the ones after it in the pack are gone.
	var last uint64
	for _, l := range locs {
		last = max(last, l.pack)
	}
	var inPack []Block
	for _, b := range bs {
		if locs[b.Hash].pack == last {
			inPack = append(inPack, b)
		}
	}
	if len(inPack) < 3 {
		t.Fatalf("only %d blocks in the last pack", len(inPack))
	}
	cut := inPack[len(inPack)/2]
	if err := os.Truncate(filepath.Join(dir, "packs", packName(last)), locs[cut.Hash].offset+recordHeaderSize+10); err != nil {
		t.Fatal(err)
	}
	lost := inPack[len(inPack)/2:]

	s := openStore(t, dir, smallPacks)
	checkDamaged(t, s, cut, locs[cut.Hash])
	checkVerify(t, s, VerifyOptions{}, len(bs), lost, io.ErrUnexpectedEOF)
	// New blocks do not go into the short pack.
	more := randBlocks(rand.New(rand.NewPCG(22, 2)), 3, 100, 200)
	mustPut(t, s, more)
	for _, b := range more {
		if loc := mustLocation(t, s, b.Hash); loc.pack == last {
			t.Fatalf("new block stored in the short pack")
		}
	}
	checkVerify(t, s, VerifyOptions{Drop: true}, len(bs)+len(more), lost, io.ErrUnexpectedEOF)
	checkGone(t, s, lost)
	mustPut(t, s, lost)
	checkBlocks(t, s, append(bs, more...))
}

func TestMissingPack(t *testing.T) {
	dir, bs, locs := damageSetup(t, 23)
	gone := locs[bs[30].Hash].pack
	if err := os.Remove(filepath.Join(dir, "packs", packName(gone))); err != nil {
		t.Fatal(err)
	}
	var lost []Block
	for _, b := range bs {
		if locs[b.Hash].pack == gone {
			lost = append(lost, b)
		}
	}

	s := openStore(t, dir, smallPacks)
	checkDamaged(t, s, bs[30], locs[bs[30].Hash])
	checkVerify(t, s, VerifyOptions{}, len(bs), lost, fs.ErrNotExist)
	checkVerify(t, s, VerifyOptions{Drop: true}, len(bs), lost, fs.ErrNotExist)
	checkGone(t, s, lost)
	// GC forgets the pack, now empty.
	before := mustStats(t, s)
	st, err := s.GC(t.Context(), func(proto.Hash) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if st.PacksRemoved != 1 || mustStats(t, s).Packs != before.Packs-1 {
		t.Errorf("gc %+v: the missing pack's record was not removed", st)
	}
	checkConsistent(t, s)
	mustPut(t, s, lost)
	checkBlocks(t, s, bs)
}

// TestGCKeepsDamaged makes a sparse pack with one damaged live block: GC
// moves the good blocks, keeps the pack for the damaged one, and Verify
// still reports it.
func TestGCKeepsDamaged(t *testing.T) {
	dir, bs, locs := damageSetup(t, 24)
	pack := locs[bs[0].Hash].pack
	var inPack, keep []Block
	for _, b := range bs {
		if locs[b.Hash].pack == pack {
			inPack = append(inPack, b)
		}
	}
	bad := inPack[1]
	flipByte(t, dir, pack, locs[bad.Hash].offset+recordHeaderSize)
	live := map[proto.Hash]bool{bad.Hash: true, inPack[2].Hash: true}
	for _, b := range bs {
		if locs[b.Hash].pack != pack {
			live[b.Hash] = true
		}
		if live[b.Hash] && b.Hash != bad.Hash {
			keep = append(keep, b)
		}
	}

	s := openStore(t, dir, smallPacks)
	st, err := s.GC(t.Context(), func(h proto.Hash) bool { return live[h] })
	if err != nil {
		t.Fatal(err)
	}
	if st.PacksKept != 1 || st.Moved != 1 {
		t.Errorf("gc %+v, want the damaged pack kept and one block moved", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "packs", packName(pack))); err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, s, keep)
	checkDamaged(t, s, bad, locs[bad.Hash])
	checkVerify(t, s, VerifyOptions{}, len(keep)+1, []Block{bad}, ErrDamaged)
	checkConsistent(t, s)
}

// TestGetNeverReturnsDamage flips every byte of a record in turn: no Get
// may return data other than the block.
func TestGetNeverReturnsDamage(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	b := randBlocks(rand.New(rand.NewPCG(25, 1)), 1, 200, 200)[0]
	mustPut(t, s, nil)
	mustPut(t, s, []Block{b})
	loc := mustLocation(t, s, b.Hash)
	path := filepath.Join(dir, "packs", packName(loc.pack))
	for off := loc.offset; off < loc.end(); off++ {
		flipByte(t, dir, loc.pack, off)
		data, err := s.Get(b.Hash, nil)
		if err == nil && !bytes.Equal(data, b.Data) {
			t.Fatalf("byte %d flipped: Get returned wrong data", off)
		}
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("byte %d flipped: Get: %v, want ErrDamaged", off, err)
		}
		flipByte(t, dir, loc.pack, off)
	}
	if _, err := s.Get(b.Hash, nil); err != nil {
		t.Fatalf("%s restored: %v", path, err)
	}
}
