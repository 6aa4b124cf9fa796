package blocks

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"ferry/proto"
)

// liveSet is a GC callback over a set of blocks.
func liveSet(bs []Block) func(proto.Hash) bool {
	live := make(map[proto.Hash]bool, len(bs))
	for _, b := range bs {
		live[b.Hash] = true
	}
	return func(h proto.Hash) bool { return live[h] }
}

func TestGC(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 1))
	dir := t.TempDir()
	s := openStore(t, dir, smallPacks)
	// The first blocks stay: their packs are dense. Of the rest, one in
	// four stays: their packs are sparse.
	bs := randBlocks(rng, 600, 200, 4<<10)
	mustPut(t, s, bs[:300])
	mustPut(t, s, bs[300:])
	var live, dead []Block
	var liveBytes int64
	for i, b := range bs {
		if i < 150 || rng.IntN(4) == 0 {
			live = append(live, b)
			liveBytes += int64(len(b.Data))
		} else {
			dead = append(dead, b)
		}
	}
	before := mustStats(t, s)
	densePacks := make(map[uint64]int64)
	for _, b := range bs[:100] {
		loc := mustLocation(t, s, b.Hash)
		densePacks[loc.pack] = packSizes(t, dir)[loc.pack]
	}

	st, err := s.GC(t.Context(), liveSet(live))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gc %+v", st)
	if st.Checked != int64(len(bs)) || st.Dropped != int64(len(dead)) || st.Moved == 0 || st.PacksRemoved == 0 || st.PacksKept != 0 {
		t.Errorf("gc %+v: want %d checked, %d dropped, some moved and removed", st, len(bs), len(dead))
	}
	checkGone(t, s, dead)
	checkBlocks(t, s, live)
	checkVerify(t, s, VerifyOptions{}, len(live), nil, nil)
	checkConsistent(t, s)

	after := mustStats(t, s)
	onDisk := sumSizes(packSizes(t, dir))
	if after.Blocks != int64(len(live)) || after.BlockBytes != liveBytes || after.PackBytes != onDisk ||
		st.PackBytesBefore != before.PackBytes || st.PackBytesAfter != onDisk {
		t.Errorf("stats %+v after gc %+v; %d live bytes, %d bytes of packs on disk", after, st, liveBytes, onDisk)
	}
	// Every pack left is dense, so the store is at most twice its data,
	// and the dense packs were not rewritten.
	if onDisk > 2*(liveBytes+int64(len(live))*recordHeaderSize)+after.Packs*packHeaderSize || onDisk >= before.PackBytes*6/10 {
		t.Errorf("packs hold %d bytes for %d live bytes (were %d)", onDisk, liveBytes, before.PackBytes)
	}
	metas, err := s.packMetas()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metas {
		if s.sparse(m.packMeta) {
			t.Errorf("pack %d still sparse after gc: %+v", m.id, m.packMeta)
		}
	}
	sizes := packSizes(t, dir)
	for id, size := range densePacks {
		if sizes[id] != size {
			t.Errorf("dense pack %d was rewritten", id)
		}
	}

	// A second GC with the same live blocks has nothing to do.
	st2, err := s.GC(t.Context(), liveSet(live))
	if err != nil {
		t.Fatal(err)
	}
	if st2.Dropped != 0 || st2.Moved != 0 || st2.PacksRemoved != 0 || st2.PackBytesAfter != st2.PackBytesBefore {
		t.Errorf("second gc %+v did something", st2)
	}

	// Dropped blocks can be stored again; everything survives a reopen.
	mustPut(t, s, dead[:10])
	s.Close()
	s = openStore(t, dir, smallPacks)
	checkBlocks(t, s, append(live, dead[:10]...))
	checkGone(t, s, dead[10:])
	checkConsistent(t, s)
}

func TestGCAllDead(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, smallPacks)
	bs := randBlocks(rand.New(rand.NewPCG(32, 1)), 100, 200, 4<<10)
	mustPut(t, s, bs)
	st, err := s.GC(t.Context(), func(proto.Hash) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if st.Dropped != int64(len(bs)) || st.Moved != 0 || st.PackBytesAfter != 0 {
		t.Errorf("gc %+v", st)
	}
	if n := len(packSizes(t, dir)); n != 0 {
		t.Errorf("%d pack files left", n)
	}
	if got := mustStats(t, s); got != (Stats{}) {
		t.Errorf("stats %+v", got)
	}
	checkGone(t, s, bs)
	mustPut(t, s, bs[:5])
	checkBlocks(t, s, bs[:5])
	checkConsistent(t, s)
}

func TestGCCanceled(t *testing.T) {
	s := openStore(t, t.TempDir(), smallPacks)
	bs := randBlocks(rand.New(rand.NewPCG(33, 1)), 50, 200, 4<<10)
	mustPut(t, s, bs)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GC(ctx, func(proto.Hash) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Fatalf("gc with a canceled context: %v", err)
	}
	checkBlocks(t, s, bs)
	checkConsistent(t, s)
}

// TestGCManyChunks drops blocks across more than one sweep step.
func TestGCManyChunks(t *testing.T) {
	s := openStore(t, t.TempDir(), smallPacks)
	bs := randBlocks(rand.New(rand.NewPCG(34, 1)), sweepChunk+1000, 10, 20)
	mustPut(t, s, bs)
	n := 0
	st, err := s.GC(t.Context(), func(h proto.Hash) bool {
		n++
		return n%2 == 0
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Checked != int64(len(bs)) || st.Dropped != int64(len(bs)/2) || mustStats(t, s).Blocks != int64(len(bs)/2) {
		t.Errorf("gc %+v", st)
	}
	checkConsistent(t, s)
}
