package chunker

import (
	"bytes"
	"slices"
	"testing"

	"ferry/proto"
)

func hashes(t *testing.T, data []byte) []proto.Hash {
	t.Helper()
	blocks, err := Blocks(bytes.NewReader(data), DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]proto.Hash, len(blocks))
	for i, b := range blocks {
		out[i] = b.Hash
	}
	return out
}

// missing counts the hashes of a that b lacks.
func missing(a, b []proto.Hash) int {
	set := make(map[proto.Hash]bool, len(b))
	for _, h := range b {
		set[h] = true
	}
	n := 0
	for _, h := range a {
		if !set[h] {
			n++
		}
	}
	return n
}

func TestEditChangesFewBlocks(t *testing.T) {
	edits := map[string]func(data []byte, at int) []byte{
		"insert": func(data []byte, at int) []byte { return slices.Insert(slices.Clone(data), at, 0x5a) },
		"delete": func(data []byte, at int) []byte { return slices.Delete(slices.Clone(data), at, at+1) },
	}
	for _, size := range []int{8 << 20, 64 << 20} {
		data := randBytes(uint64(size), size)
		before := hashes(t, data)
		for name, edit := range edits {
			after := hashes(t, edit(data, size/2))
			added, removed := missing(after, before), missing(before, after)
			if added > 2 || removed > 2 || added == 0 {
				t.Errorf("%s in %d MiB: %d new blocks, %d gone (of %d); want 1 or 2 each", name, size>>20, added, removed, len(before))
			}
		}
	}
}

func TestAppendChangesOnlyTail(t *testing.T) {
	data := randBytes(11, 8<<20)
	before := hashes(t, data)
	after := hashes(t, append(slices.Clone(data), randBytes(12, 100_000)...))
	keep := len(before) - 1
	if !slices.Equal(before[:keep], after[:keep]) {
		t.Fatalf("appending changed %d of the %d blocks before the last one", missing(before[:keep], after), keep)
	}
	if slices.Equal(before, after[:len(before)]) {
		t.Fatal("appending left the last block unchanged")
	}
}
