package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/proto"
)

// walkTree builds a tree that exercises ordering and skipping.
func walkTree(t *testing.T) (*Folder, string) {
	f, dir := newFolder(t)
	for _, p := range []string{"a/b.txt", "a/z/deep", "a-c", "B", ".ferry-tmp-x-1", "a/.ferry-tmp-y-2", ".ferry/state", "bad\x01name/inside", "nfd/e\u0301"} {
		writeFile(t, dir, p, "data:"+p)
	}
	if err := os.Symlink("a", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	return f, dir
}

func TestWalkOrderAndSkips(t *testing.T) {
	f, _ := walkTree(t)
	var skipped []string
	f.OnSkip = func(name string, err error) {
		if !errors.Is(err, proto.ErrInvalidName) {
			t.Errorf("skip %q: %v", name, err)
		}
		skipped = append(skipped, name)
	}
	got := walkNames(t, f, "")
	// Byte order of the whole names: "a-c" sorts before "a/b.txt".
	want := []string{"B", "a", "a-c", "a/b.txt", "a/z", "a/z/deep", "l", "nfd", "nfd/\u00e9"}
	if !slices.Equal(got, want) {
		t.Errorf("walk = %q\nwant %q", got, want)
	}
	wantSkipped := []string{"bad\x01name"}
	if !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped = %q, want %q", skipped, wantSkipped)
	}
}

// A name only wrong in its Unicode normalization is renamed to NFC, with
// its content, unless something has the NFC name already.
func TestWalkNormalizesNames(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("macOS file systems keep names in their own form")
	}
	f, dir := newFolder(t)
	writeFile(t, dir, "cafe\u0301/re\u0301sume\u0301.txt", "cv")
	writeFile(t, dir, "both/e\u0301", "decomposed")
	writeFile(t, dir, "both/\u00e9", "composed")
	var renamed [][2]string
	f.OnNormalize = func(from, to string) { renamed = append(renamed, [2]string{from, to}) }
	var skipped []string
	f.OnSkip = func(name string, err error) { skipped = append(skipped, name) }
	got := walkNames(t, f, "")
	want := []string{"both", "both/\u00e9", "caf\u00e9", "caf\u00e9/r\u00e9sum\u00e9.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("walk = %q\nwant %q", got, want)
	}
	if !slices.Equal(skipped, []string{"both/e\u0301"}) {
		t.Errorf("skipped = %q: the decomposed name whose NFC form exists stays out", skipped)
	}
	if len(renamed) != 2 || renamed[0] != [2]string{"cafe\u0301", "caf\u00e9"} {
		t.Errorf("renamed %q", renamed)
	}
	if got := readFile(t, dir, "caf\u00e9/r\u00e9sum\u00e9.txt"); got != "cv" {
		t.Errorf("content after the rename: %q", got)
	}
	if readFile(t, dir, "both/e\u0301") != "decomposed" || readFile(t, dir, "both/\u00e9") != "composed" {
		t.Error("a file was overwritten")
	}
}

func TestWalkEntries(t *testing.T) {
	f, dir := walkTree(t)
	mt := time.Unix(1_650_000_000, 123456789)
	if err := os.Chtimes(filepath.Join(dir, "a/b.txt"), mt, mt); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "a/b.txt"), 0o640)
	byName := map[string]Entry{}
	f.Walk("", func(e Entry) error { byName[e.Name] = e; return nil })
	file := byName["a/b.txt"]
	if file.Type != proto.FileTypeFile || file.Size != int64(len("data:a/b.txt")) ||
		file.ModTime != mt.UnixNano() || file.Mode != 0o640 || file.Inode == 0 {
		t.Errorf("file entry = %+v", file)
	}
	if l := byName["l"]; l.Type != proto.FileTypeSymlink || l.Target != "a" || l.Size != 0 {
		t.Errorf("symlink entry = %+v", l)
	}
	if d := byName["a"]; d.Type != proto.FileTypeDir || d.Size != 0 {
		t.Errorf("dir entry = %+v", d)
	}
	if lst := mustLstat(t, f, "a/b.txt"); lst != file {
		t.Errorf("Lstat = %+v, Walk = %+v", lst, file)
	}
}

func TestWalkSubtree(t *testing.T) {
	f, _ := walkTree(t)
	if got, want := walkNames(t, f, "a"), []string{"a", "a/b.txt", "a/z", "a/z/deep"}; !slices.Equal(got, want) {
		t.Errorf("walk a = %q, want %q", got, want)
	}
	if got, want := walkNames(t, f, "a/b.txt"), []string{"a/b.txt"}; !slices.Equal(got, want) {
		t.Errorf("walk a/b.txt = %q, want %q", got, want)
	}
	if got, want := walkNames(t, f, "l"), []string{"l"}; !slices.Equal(got, want) {
		t.Errorf("walk l = %q, want %q (symlink not followed)", got, want)
	}
	err := f.Walk("missing/x", func(Entry) error { return nil })
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("walk missing = %v, want ErrNotExist", err)
	}
	if err := f.Walk("l/b.txt", func(Entry) error { return nil }); err == nil {
		t.Error("walk through a symlink succeeded")
	}
}

func TestWalkStopsOnError(t *testing.T) {
	f, _ := walkTree(t)
	stop := errors.New("stop")
	n := 0
	err := f.Walk("", func(e Entry) error {
		n++
		if e.Name == "a/b.txt" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 4 {
		t.Errorf("walk = %v after %d calls, want stop after 4", err, n)
	}
}

// A walk after a name reports what a whole walk reports after it, so a
// walk stopped anywhere goes on where it stopped.
func TestWalkAfter(t *testing.T) {
	f, dir := walkTree(t)
	for _, p := range []string{"a.txt", "a/z0", "a/z.d/x", "a!/y", "zz/1/2/3"} {
		writeFile(t, dir, p, p)
	}
	all := walkNames(t, f, "")
	if !slices.IsSorted(all) {
		t.Fatalf("walk not in byte order: %q", all)
	}
	for i, after := range append([]string{"", "a/z/", "a/zz", "\xff"}, all...) {
		var got []string
		err := f.WalkAfter("", after, func(e Entry) error {
			got = append(got, e.Name)
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, name := range all {
			if name > after {
				want = append(want, name)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d: walk after %q = %q\nwant %q", i, after, got, want)
		}
	}
	var sub []string
	err := f.WalkAfter("a", "a/z", func(e Entry) error {
		sub = append(sub, e.Name)
		return nil
	}, nil)
	if want := []string{"a/z.d", "a/z.d/x", "a/z/deep", "a/z0"}; err != nil || !slices.Equal(sub, want) {
		t.Errorf("walk of a after a/z = %q, %v; want %q", sub, err, want)
	}
}

func TestCleanTemps(t *testing.T) {
	f, dir := walkTree(t)
	writeFile(t, dir, "a/z/.ferry-tmp-busy-3", "in use")
	writeFile(t, dir, ".ferry/.ferry-tmp-own-4", "own")
	var mu sync.Mutex
	var asked []string
	n, err := f.CleanTemps(&mu, func(name string) bool {
		if mu.TryLock() {
			t.Errorf("inUse(%s) called without the lock held", name)
			mu.Unlock()
		}
		asked = append(asked, name)
		return name == "a/z/.ferry-tmp-busy-3"
	})
	slices.Sort(asked)
	if want := []string{".ferry-tmp-x-1", "a/.ferry-tmp-y-2", "a/z/.ferry-tmp-busy-3"}; !slices.Equal(asked, want) {
		t.Errorf("asked about %q, want %q", asked, want)
	}
	if err != nil || n != 2 {
		t.Fatalf("CleanTemps = %d, %v; want 2, nil", n, err)
	}
	for p, want := range map[string]bool{
		".ferry-tmp-x-1": false, "a/.ferry-tmp-y-2": false,
		"a/z/.ferry-tmp-busy-3": true, ".ferry/.ferry-tmp-own-4": true, "a/b.txt": true,
	} {
		if exists(dir, p) != want {
			t.Errorf("%s exists = %v, want %v", p, !want, want)
		}
	}
}

func TestWalkRefusesVanishedFolder(t *testing.T) {
	f, dir := walkTree(t)
	if err := os.RemoveAll(filepath.Join(dir, ".ferry")); err != nil {
		t.Fatal(err)
	}
	if err := f.Walk("", func(Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), ".ferry") {
		t.Errorf("walk without marker = %v", err)
	}
	g, dir2 := newFolder(t)
	moved := dir2 + ".moved"
	if err := os.Rename(dir2, moved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(moved) })
	os.Mkdir(dir2, 0o755)
	if err := g.Walk("", func(Entry) error { return nil }); err == nil {
		t.Error("walk of a replaced folder succeeded")
	}
	if err := g.Verify(); err == nil {
		t.Error("Verify of a replaced folder succeeded")
	}
}
