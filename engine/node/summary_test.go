package node

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
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
