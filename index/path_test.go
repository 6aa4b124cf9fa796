package index

import (
	"fmt"
	"path/filepath"
	"testing"

	"ferry/proto"
)

// openDocs opens a new index and its folder "docs".
func openDocs(t *testing.T) (*DB, *Folder) {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f, err := db.Folder("docs")
	if err != nil {
		t.Fatal(err)
	}
	return db, f
}

func TestFolderRoot(t *testing.T) {
	db, f := openDocs(t)
	if p, dev, err := f.Root(); err != nil || p != "" || dev != 0 {
		t.Fatalf("new folder root = %q %d, %v; want none", p, dev, err)
	}
	if err := f.SetRoot("/home/me/docs", 42); err != nil {
		t.Fatal(err)
	}
	if p, dev, err := f.Root(); err != nil || p != "/home/me/docs" || dev != 42 {
		t.Fatalf("root = %q %d, %v", p, dev, err)
	}
	if err := db.DropFolder("docs"); err != nil {
		t.Fatal(err)
	}
	f, err := db.Folder("docs")
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := f.Root(); p != "" {
		t.Fatalf("a dropped folder kept its root %q", p)
	}
}

// ForgetInodes clears the inode of every local record, across several
// transactions, and changes nothing else.
func TestForgetInodes(t *testing.T) {
	_, f := openDocs(t)
	const n = forgetBatch*2 + 17
	want := make(map[string]proto.FileInfo, n)
	err := f.Update(func(tx *Tx) error {
		for i := range n {
			r := proto.FileInfo{
				Name: fmt.Sprintf("d/f%05d", i), Type: proto.FileTypeFile, Size: 1, ModTime: 1e9, Sequence: int64(i + 1),
				Inode: uint64(1000 + i%3), Blocks: []proto.Block{{Size: 1, Hash: proto.Hash{byte(i), byte(i >> 8)}}},
			}
			if i%3 == 0 {
				r.Inode = 0
			}
			if err := tx.PutLocal(r); err != nil {
				return err
			}
			r.Inode = 0
			want[r.Name] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := f.ForgetInodes()
	if err != nil {
		t.Fatal(err)
	}
	if wantChanged := n - (n+2)/3; changed != wantChanged {
		t.Fatalf("rewrote %d records, want %d", changed, wantChanged)
	}
	seen := 0
	err = f.EachLocal(func(r proto.FileInfo) error {
		seen++
		w := want[r.Name]
		if r.Inode != 0 || r.Sequence != w.Sequence || r.Size != w.Size || len(r.Blocks) != 1 || r.Blocks[0] != w.Blocks[0] {
			return fmt.Errorf("%s: %+v, want %+v", r.Name, r, w)
		}
		return nil
	})
	if err != nil || seen != n {
		t.Fatalf("after: %d records, %v", seen, err)
	}
	for _, name := range []string{"d/f00001", "d/f09999"} {
		if _, ok, _ := f.Get(Local, name); ok != (name == "d/f00001") {
			t.Fatalf("Get %s = %v", name, ok)
		}
	}
	if src, _, ok, err := f.BlockSource(proto.Hash{5, 0}); err != nil || !ok || src != "d/f00005" {
		t.Fatalf("block map after: %q %v %v", src, ok, err)
	}
}
