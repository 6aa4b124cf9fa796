package index

import (
	"path/filepath"
	"testing"
)

func TestFolderPath(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err := db.Folder("docs")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := f.Path(); err != nil || p != "" {
		t.Fatalf("new folder path = %q, %v; want none", p, err)
	}
	if err := f.SetPath("/home/me/docs"); err != nil {
		t.Fatal(err)
	}
	if p, err := f.Path(); err != nil || p != "/home/me/docs" {
		t.Fatalf("path = %q, %v", p, err)
	}
	if err := db.DropFolder("docs"); err != nil {
		t.Fatal(err)
	}
	if f, err = db.Folder("docs"); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.Path(); p != "" {
		t.Fatalf("a dropped folder kept its path %q", p)
	}
}
