package platform

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ferry/proto"
)

// mutations calls every Folder method that takes a name with name in the
// role being attacked. Each must fail.
func mutations(f *Folder, name string) map[string]func() error {
	mt := time.Unix(1_700_000_000, 0).UnixNano()
	fileExpect := Expect{Entry: Entry{Type: proto.FileTypeFile, Size: 6, Mode: 0o644}}
	return map[string]func() error{
		"OpenTemp": func() error {
			tmp, _, err := f.OpenTemp(name, "t")
			if err == nil {
				tmp.Close()
			}
			return err
		},
		"CommitTemp": func() error {
			tmp, _, err := f.OpenTemp("ok", "t")
			if err != nil {
				return nil // not the failure under test
			}
			tmp.WriteString("payload")
			return f.CommitTemp(tmp, name, Expect{Absent: true}, mt, 0o644, "")
		},
		"CommitTemp conflict": func() error {
			tmp, _, err := f.OpenTemp("ok", "t")
			if err != nil {
				return nil
			}
			return f.CommitTemp(tmp, "ok", Expect{Absent: true}, mt, 0o644, name)
		},
		"Mkdir":         func() error { return f.Mkdir(name, 0o755, mt) },
		"Symlink":       func() error { return f.Symlink("target", name, Expect{Absent: true}, mt) },
		"Remove":        func() error { return f.Remove(name, fileExpect) },
		"Rename from":   func() error { return f.Rename(name, "renamed") },
		"Rename to":     func() error { return f.Rename("present", name) },
		"SetMeta":       func() error { return f.SetMeta(name, mt, 0o777) },
		"Open":          func() error { fh, err := f.Open(name); closeIf(fh); return err },
		"ReadAt":        func() error { return f.ReadAt(name, make([]byte, 3), 0) },
		"Lstat":         func() error { _, err := f.Lstat(name); return err },
		"Check":         func() error { return f.Check(name, Expect{Absent: true}) },
		"Check present": func() error { return f.Check(name, fileExpect) },
		"Walk":          func() error { return f.Walk(name, func(Entry) error { return nil }) },
	}
}

func closeIf(fh *os.File) {
	if fh != nil {
		fh.Close()
	}
}

// hostileSetup makes a folder inside a parent dir, an outside dir with a
// victim and a secret, and symlinks in the folder pointing out.
func hostileSetup(t *testing.T) (f *Folder, dir, outside, parent string) {
	parent = t.TempDir()
	dir = filepath.Join(parent, "folder")
	outside = filepath.Join(parent, "outside")
	writeFile(t, outside, "victim", "victim")
	writeFile(t, outside, "secret", "secret")
	writeFile(t, dir, "present", "here")
	writeFile(t, dir, "real/inner", "inner")
	writeFile(t, parent, "x", "parent x")
	for link, target := range map[string]string{
		"link":   outside,
		"flink":  filepath.Join(outside, "secret"),
		"rel":    "../outside",
		"inlink": "real",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := InitFolder(dir); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, dir, outside, parent
}

func TestHostileNames(t *testing.T) {
	f, dir, outside, parent := hostileSetup(t)
	before := listTree(t, outside)
	parentBefore := listTree(t, parent)
	names := []string{
		"../x", "/abs", "/tmp", "a/../../x", "..", ".", "", "a//b", "a/", "./a",
		`..\x`, `a\..\..\x`, "C:/x", "a\x00b",
		".ferry", ".ferry/x", ".ferry-tmp-x", "a/.Ferry-tmp-y",
		"link/x", "link/victim", "link/secret", "link/sub", "rel/victim",
		"link/new/deeper", "inlink/inner", "inlink/new",
	}
	for _, name := range names {
		for op, call := range mutations(f, name) {
			if name == "" && (op == "Walk" || op == "CommitTemp conflict") {
				continue // "" means the whole folder and no conflict copy
			}
			if err := call(); err == nil {
				t.Errorf("%s(%q) succeeded, want an error", op, name)
			}
		}
	}
	if got := listTree(t, outside); !slices.Equal(got, before) {
		t.Errorf("outside dir changed:\n got %q\nwant %q", got, before)
	}
	after := listTree(t, parent)
	for _, p := range after {
		if !slices.Contains(parentBefore, p) && !isInside(p) {
			t.Errorf("created outside the folder: %s", p)
		}
	}
	if got := readFile(t, dir, "present"); got != "here" {
		t.Errorf("present = %q", got)
	}
}

// isInside reports whether a path relative to the test's parent dir lies in
// the folder.
func isInside(p string) bool { return p == "folder" || len(p) > 7 && p[:7] == "folder/" }

func TestFinalSymlinkNotFollowed(t *testing.T) {
	f, dir, outside, _ := hostileSetup(t)
	before := listTree(t, outside)
	mt := time.Unix(1_600_000_000, 0).UnixNano()
	if fh, err := f.Open("flink"); err == nil {
		fh.Close()
		t.Error("Open(flink) succeeded")
	}
	if err := f.SetMeta("flink", mt, 0o777); err == nil {
		t.Error("SetMeta(flink) succeeded")
	}
	if err := f.Mkdir("flink", 0o755, mt); !errors.Is(err, ErrChanged) {
		t.Errorf("Mkdir(flink) = %v, want ErrChanged", err)
	}
	if _, _, err := f.OpenTemp("sub/x", "t"); err != nil {
		t.Fatal(err)
	}
	// Plant a symlink at the temp name: it must be replaced, never
	// followed (the outside tree is compared at the end).
	tn := f.TempName("y", "t")
	os.Symlink(filepath.Join(outside, "victim"), filepath.Join(dir, tn))
	if tmp, existed, err := f.OpenTemp("y", "t"); err != nil || existed {
		t.Errorf("OpenTemp over a symlink = %v, existed %v", err, existed)
	} else {
		tmp.WriteString("pulled")
		tmp.Close()
		if fi, err := os.Lstat(filepath.Join(dir, tn)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("temp over a symlink is %v, %v", fi, err)
		}
	}
	e, err := f.Lstat("flink")
	if err != nil || e.Type != proto.FileTypeSymlink || e.Target != filepath.Join(outside, "secret") {
		t.Fatalf("Lstat(flink) = %+v, %v", e, err)
	}
	tmp, _, err := f.OpenTemp("flink", "t")
	if err != nil {
		t.Fatal(err)
	}
	tmp.WriteString("replaced")
	if err := f.CommitTemp(tmp, "flink", Expect{Entry: e}, mt, 0o600, ""); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "flink"); got != "replaced" {
		t.Errorf("flink = %q", got)
	}
	if err := f.Remove("link", Expect{Entry: mustLstat(t, f, "link")}); err != nil {
		t.Fatal(err)
	}
	if got := listTree(t, outside); !slices.Equal(got, before) {
		t.Errorf("outside dir changed:\n got %q\nwant %q", got, before)
	}
}

func mustLstat(t *testing.T, f *Folder, name string) Entry {
	t.Helper()
	e, err := f.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
