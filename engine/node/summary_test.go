package node

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"ferry/engine"
)

// The summaries and the need list are written with the records they come
// from: once two nodes are in sync, each index holds one summary per name,
// none needing work, the need list is empty, and the local files counted
// in the summaries are those the status counts.
func TestIndexHoldsSummaries(t *testing.T) {
	base := t.TempDir()
	aDir, bDir := filepath.Join(base, "a"), filepath.Join(base, "b")
	if err := os.MkdirAll(filepath.Join(aDir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(aDir, "sub", fmt.Sprintf("f%02d", i)), []byte(fmt.Sprint("content ", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := startNode(t, "a", map[string]string{"docs": aDir})
	b := startNode(t, "b", map[string]string{"docs": bDir})
	trust(t, a, b.id, []string{b.addr}, "docs")
	trust(t, b, a.id, []string{a.addr}, "docs")
	waitUntil(t, func() bool {
		data, err := os.ReadFile(filepath.Join(bDir, "sub", "f19"))
		return err == nil && string(data) == "content 19"
	})
	for _, n := range []*testNode{a, b} {
		idx, err := n.db.Folder("docs")
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, func() bool {
			st := n.folders["docs"].runner.status()
			sums, err := idx.Summaries("", "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var need []string
			for kind := uint8(1); kind <= 3; kind++ {
				names, err := idx.NeedAfter(kind, "", false, 10)
				if err != nil {
					t.Fatal(err)
				}
				need = append(need, names...)
			}
			locals := 0
			for _, s := range sums {
				if s.Need != 0 {
					return false
				}
				if s.Flags&1 != 0 {
					locals++
				}
			}
			ok, _ := idx.Summarized()
			return ok && st.InSync && len(sums) == 21 && locals == st.LocalFiles && len(need) == 0
		})
	}
}

// A walk that stops every few entries and goes on where it stopped finds
// every file, in whatever order names sort, and a deletion found in a
// later batch is still a deletion, of that file only.
func TestWalkInBatches(t *testing.T) {
	old := walkBatch
	walkBatch = 3
	t.Cleanup(func() { walkBatch = old })
	base := t.TempDir()
	aDir, bDir := filepath.Join(base, "a"), filepath.Join(base, "b")
	names := []string{"a.txt", "a b", "a/b", "a/c/d", "a/c.d", "a-1/x", "b", "z/z/z", "z!", "zz"}
	for _, name := range names {
		p := filepath.Join(aDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := startNode(t, "a", map[string]string{"docs": aDir})
	b := startNode(t, "b", map[string]string{"docs": bDir})
	trust(t, a, b.id, []string{b.addr}, "docs")
	trust(t, b, a.id, []string{a.addr}, "docs")
	has := func(name string) bool {
		data, err := os.ReadFile(filepath.Join(bDir, filepath.FromSlash(name)))
		return err == nil && string(data) == "content of "+name
	}
	waitUntil(t, func() bool {
		for _, name := range names {
			if !has(name) {
				return false
			}
		}
		return true
	})
	if err := os.Remove(filepath.Join(aDir, "z", "z", "z")); err != nil {
		t.Fatal(err)
	}
	a.folders["docs"].runner.in.put(engine.ScanRequest{})
	waitUntil(t, func() bool {
		_, err := os.Stat(filepath.Join(bDir, "z", "z", "z"))
		return os.IsNotExist(err)
	})
	for _, name := range names[:len(names)-3] {
		if !has(name) {
			t.Errorf("%s is gone from b after the deletion of z/z/z", name)
		}
	}
	if !has("z!") || !has("zz") {
		t.Error("a name after z/z/z is gone from b")
	}
}
