package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"ferry/proto"
)

func TestMkdir(t *testing.T) {
	f, dir := newFolder(t)
	if err := f.Mkdir("a/b/c", 0o750, testMtime); err != nil {
		t.Fatal(err)
	}
	e := mustLstat(t, f, "a/b/c")
	if e.Type != proto.FileTypeDir || e.Mode != 0o750 || e.ModTime != testMtime {
		t.Errorf("new dir %+v", e)
	}
	if err := f.Mkdir("a/b/c", 0o700, testMtime+1); err != nil {
		t.Fatal(err)
	}
	if e := mustLstat(t, f, "a/b/c"); e.Mode != 0o700 || e.ModTime != testMtime+1 {
		t.Errorf("existing dir %+v", e)
	}
	writeFile(t, dir, "file", "x")
	if err := f.Mkdir("file", 0o755, testMtime); !errors.Is(err, ErrChanged) {
		t.Errorf("Mkdir over file = %v, want ErrChanged", err)
	}
}

func TestSymlink(t *testing.T) {
	f, dir := newFolder(t)
	if err := f.Symlink("../../elsewhere", "d/link", Expect{Absent: true}, testMtime); err != nil {
		t.Fatal(err)
	}
	e := mustLstat(t, f, "d/link")
	if e.Type != proto.FileTypeSymlink || e.Target != "../../elsewhere" || e.ModTime != testMtime {
		t.Errorf("link %+v", e)
	}
	if err := f.Symlink("new", "d/link", Expect{Absent: true}, testMtime); !errors.Is(err, ErrChanged) {
		t.Errorf("Symlink over link = %v, want ErrChanged", err)
	}
	if exists(dir, "d/.ferry-tmp-link-link") {
		t.Error("temp link left after ErrChanged")
	}
	if err := f.Symlink("new", "d/link", Expect{Entry: e}, testMtime); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(filepath.Join(dir, "d/link")); got != "new" {
		t.Errorf("target = %q", got)
	}
	writeFile(t, dir, "d/file", "x")
	if err := f.Symlink("t", "d/file", Expect{Entry: mustLstat(t, f, "d/file")}, testMtime); err != nil {
		t.Fatal(err)
	}
	if e := mustLstat(t, f, "d/file"); e.Type != proto.FileTypeSymlink {
		t.Errorf("file not replaced by link: %+v", e)
	}
}

func TestRemove(t *testing.T) {
	f, dir := newFolder(t)
	writeFile(t, dir, "d/file", "x")
	dirEntry := mustLstat(t, f, "d")
	if err := f.Remove("d", Expect{Entry: dirEntry}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("Remove non-empty = %v, want ErrNotEmpty", err)
	}
	stale := mustLstat(t, f, "d/file")
	stale.Size = 99
	if err := f.Remove("d/file", Expect{Entry: stale}); !errors.Is(err, ErrChanged) {
		t.Errorf("Remove changed = %v, want ErrChanged", err)
	}
	if err := f.Remove("d/file", Expect{Entry: mustLstat(t, f, "d/file")}); err != nil {
		t.Fatal(err)
	}
	// The directory's mtime moved when its child went: not compared.
	if err := f.Remove("d", Expect{Entry: dirEntry}); err != nil {
		t.Fatal(err)
	}
	if exists(dir, "d") {
		t.Error("d still exists")
	}
	if err := f.Remove("d", Expect{Absent: true}); err != nil {
		t.Errorf("Remove absent = %v", err)
	}
	if err := f.Remove("d", Expect{Entry: dirEntry}); !errors.Is(err, ErrChanged) {
		t.Errorf("Remove vanished = %v, want ErrChanged", err)
	}
}

func TestRenameAndSetMeta(t *testing.T) {
	f, dir := newFolder(t)
	writeFile(t, dir, "a", "A")
	writeFile(t, dir, "b", "B")
	if err := f.Rename("a", "b"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Rename onto existing = %v, want ErrExist", err)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if err := f.Rename("a", "sub/c"); err != nil {
		t.Fatal(err)
	}
	if readFile(t, dir, "sub/c") != "A" || exists(dir, "a") || readFile(t, dir, "b") != "B" {
		t.Error("rename result wrong")
	}
	if err := f.SetMeta("sub/c", testMtime, 0o604); err != nil {
		t.Fatal(err)
	}
	if e := mustLstat(t, f, "sub/c"); e.Mode != 0o604 || e.ModTime != testMtime {
		t.Errorf("after SetMeta %+v", e)
	}
	os.Symlink("b", filepath.Join(dir, "l"))
	if err := f.SetMeta("l", testMtime, 0o600); err == nil {
		t.Error("SetMeta on a symlink succeeded")
	}
	if e := mustLstat(t, f, "b"); e.Mode != 0o644 {
		t.Errorf("symlink target mode changed to %o", e.Mode)
	}
}

func TestCheck(t *testing.T) {
	f, dir := newFolder(t)
	writeFile(t, dir, "file", "content")
	os.Symlink("target", filepath.Join(dir, "link"))
	file, link := mustLstat(t, f, "file"), mustLstat(t, f, "link")
	mod := func(e Entry, change func(*Entry)) Expect { change(&e); return Expect{Entry: e} }
	tests := []struct {
		name    string
		at      string
		e       Expect
		changed bool
	}{
		{"same file", "file", Expect{Entry: file}, false},
		{"unknown inode", "file", mod(file, func(e *Entry) { e.Inode = 0 }), false},
		{"size", "file", mod(file, func(e *Entry) { e.Size++ }), true},
		{"mtime", "file", mod(file, func(e *Entry) { e.ModTime++ }), true},
		{"mode", "file", mod(file, func(e *Entry) { e.Mode = 0o600 }), true},
		{"inode", "file", mod(file, func(e *Entry) { e.Inode++ }), true},
		{"type", "file", mod(file, func(e *Entry) { e.Type = proto.FileTypeDir }), true},
		{"absent but present", "file", Expect{Absent: true}, true},
		{"present but absent", "nothing", Expect{Entry: file}, true},
		{"absent", "nothing", Expect{Absent: true}, false},
		{"same link", "link", Expect{Entry: link}, false},
		{"target", "link", mod(link, func(e *Entry) { e.Target = "other" }), true},
	}
	for _, tt := range tests {
		err := f.Check(tt.at, tt.e)
		if errors.Is(err, ErrChanged) != tt.changed || (err != nil && !tt.changed) {
			t.Errorf("%s: Check = %v, want changed %v", tt.name, err, tt.changed)
		}
	}
}

func TestOpenAndReadAt(t *testing.T) {
	f, dir := newFolder(t)
	writeFile(t, dir, "d/file", "0123456789")
	os.Symlink("file", filepath.Join(dir, "d/link"))
	buf := make([]byte, 4)
	if err := f.ReadAt("d/file", buf, 3); err != nil || string(buf) != "3456" {
		t.Errorf("ReadAt = %q, %v", buf, err)
	}
	if err := f.ReadAt("d/file", buf, 8); err == nil {
		t.Error("short ReadAt succeeded")
	}
	for _, name := range []string{"d/link", "d", "missing"} {
		if fh, err := f.Open(name); err == nil {
			fh.Close()
			t.Errorf("Open(%s) succeeded", name)
		}
	}
}

func TestOpenFolder(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenFolder(dir); !errors.Is(err, ErrNoMarker) {
		t.Fatalf("OpenFolder without a marker = %v, want ErrNoMarker", err)
	}
	if exists(dir, ".ferry") {
		t.Fatal("OpenFolder created the marker")
	}
	if err := InitFolder(dir); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Path() != dir {
		t.Errorf("Path = %q, want %q", f.Path(), dir)
	}
	if fi, err := os.Stat(filepath.Join(dir, ".ferry")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf(".ferry = %v, %v", fi, err)
	}
	if err := InitFolder(dir); err != nil { // marker already there
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, ".ferry")); err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); !errors.Is(err, ErrNoMarker) {
		t.Errorf("Verify without the marker = %v, want ErrNoMarker", err)
	}
	writeFile(t, dir, "file", "x")
	if _, err := OpenFolder(filepath.Join(dir, "file")); err == nil {
		t.Error("OpenFolder on a file succeeded")
	}
	if err := InitFolder(filepath.Join(dir, "file")); err == nil {
		t.Error("InitFolder on a file succeeded")
	}
	if _, err := OpenFolder(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenFolder missing = %v", err)
	}
}

// TestRenameChecked covers the fallback used where renameat2 is missing.
func TestRenameChecked(t *testing.T) {
	f, dir := newFolder(t)
	writeFile(t, dir, "a", "A")
	writeFile(t, dir, "b", "B")
	if err := renameChecked(f.root, "a", "b"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("onto existing = %v, want ErrExist", err)
	}
	if err := renameChecked(f.root, "a", "c"); err != nil || readFile(t, dir, "c") != "A" || exists(dir, "a") {
		t.Errorf("rename = %v", err)
	}
}
