package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"ferry/proto"
)

var testMtime = time.Unix(1_700_000_000, 987654321).UnixNano()

func TestTempName(t *testing.T) {
	f, _ := newFolder(t)
	if got := f.TempName("a/b.txt", "v3"); got != "a/.ferry-tmp-b.txt-v3" {
		t.Errorf("TempName = %q", got)
	}
	if got := f.TempName("top", "x"); got != ".ferry-tmp-top-x" {
		t.Errorf("TempName = %q", got)
	}
	long1 := "d/" + strings.Repeat("é", 127) + "1"
	long2 := "d/" + strings.Repeat("é", 127) + "2"
	t1, t2 := f.TempName(long1, "tag"), f.TempName(long2, "tag")
	if t1 == t2 {
		t.Error("different long names share a temp name")
	}
	for _, tn := range []string{t1, t2} {
		base := filepath.Base(tn)
		if len(base) > 255 || !utf8.ValidString(base) || !strings.HasPrefix(tn, "d/.ferry-tmp-") || !strings.HasSuffix(tn, "-tag") {
			t.Errorf("long temp name %q (%d bytes)", tn, len(base))
		}
	}
}

func FuzzTempName(f *testing.F) {
	f.Add("a/b", "t")
	f.Add(strings.Repeat("x", 300), "tag")
	fo := &Folder{}
	f.Fuzz(func(t *testing.T, name, tag string) {
		if proto.ValidName(name) != nil || len(tag) > 32 {
			return
		}
		tn := fo.TempName(name, tag)
		dir := name[:strings.LastIndex(name, "/")+1]
		if !strings.HasPrefix(tn, dir+tempPrefix) || len(tn)-len(dir) > 255 || !strings.HasSuffix(tn, "-"+tag) {
			t.Errorf("TempName(%q, %q) = %q", name, tag, tn)
		}
	})
}

func TestOpenTempReuse(t *testing.T) {
	f, dir := newFolder(t)
	tmp, existed, err := f.OpenTemp("new/dir/file", "v1")
	if err != nil || existed {
		t.Fatalf("OpenTemp = %v, existed %v", err, existed)
	}
	tmp.WriteString("partial")
	tmp.Close()
	fi, err := os.Stat(filepath.Join(dir, "new/dir/.ferry-tmp-file-v1"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("temp stat = %v, %v", fi, err)
	}
	tmp, existed, err = f.OpenTemp("new/dir/file", "v1")
	if err != nil || !existed {
		t.Fatalf("reopen = %v, existed %v", err, existed)
	}
	defer tmp.Close()
	buf := make([]byte, 7)
	if _, err := tmp.ReadAt(buf, 0); err != nil || string(buf) != "partial" {
		t.Errorf("reused content = %q, %v", buf, err)
	}
}

// commitNew writes content to a temp for name and commits it.
func commitNew(f *Folder, name, content string, e Expect, conflict string) error {
	tmp, _, err := f.OpenTemp(name, "t")
	if err != nil {
		return err
	}
	tmp.WriteString(content)
	return f.CommitTemp(tmp, name, e, testMtime, 0o640, conflict)
}

func TestCommitTemp(t *testing.T) {
	f, dir := newFolder(t)
	if err := commitNew(f, "d/file", "one", Expect{Absent: true}, ""); err != nil {
		t.Fatal(err)
	}
	e := mustLstat(t, f, "d/file")
	if e.Size != 3 || e.ModTime != testMtime || e.Mode != 0o640 || readFile(t, dir, "d/file") != "one" {
		t.Errorf("committed %+v", e)
	}
	if exists(dir, "d/.ferry-tmp-file-t") {
		t.Error("temp left behind")
	}
	if err := commitNew(f, "d/file", "two!", Expect{Entry: e}, ""); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "d/file"); got != "two!" {
		t.Errorf("replaced content = %q", got)
	}
}

func TestCommitTempChanged(t *testing.T) {
	f, dir := newFolder(t)
	writeFile(t, dir, "file", "original")
	e := mustLstat(t, f, "file")
	writeFile(t, dir, "file", "edited locally")
	err := commitNew(f, "file", "from peer", Expect{Entry: e}, "")
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("commit = %v, want ErrChanged", err)
	}
	if got := readFile(t, dir, "file"); got != "edited locally" {
		t.Errorf("file = %q", got)
	}
	if got := readFile(t, dir, ".ferry-tmp-file-t"); got != "from peer" {
		t.Errorf("temp = %q, want it kept", got)
	}
	if err := commitNew(f, "file", "x", Expect{Absent: true}, ""); !errors.Is(err, ErrChanged) {
		t.Errorf("commit over unexpected file = %v, want ErrChanged", err)
	}
}

func TestCommitTempConflict(t *testing.T) {
	f, dir := newFolder(t)
	writeFile(t, dir, "doc.txt", "mine")
	e := mustLstat(t, f, "doc.txt")
	if err := commitNew(f, "doc.txt", "theirs", Expect{Entry: e}, "doc.conflict-1.txt"); err != nil {
		t.Fatal(err)
	}
	if readFile(t, dir, "doc.txt") != "theirs" || readFile(t, dir, "doc.conflict-1.txt") != "mine" {
		t.Error("conflict copy not kept")
	}
	// An existing conflict name is never overwritten.
	e = mustLstat(t, f, "doc.txt")
	err := commitNew(f, "doc.txt", "third", Expect{Entry: e}, "doc.conflict-1.txt")
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("commit = %v, want ErrExist", err)
	}
	if readFile(t, dir, "doc.txt") != "theirs" || readFile(t, dir, "doc.conflict-1.txt") != "mine" {
		t.Error("files changed by a failed commit")
	}
	// Nothing at the name: no conflict copy is made.
	if err := commitNew(f, "fresh", "new", Expect{Absent: true}, "fresh.conflict"); err != nil || exists(dir, "fresh.conflict") {
		t.Errorf("commit fresh = %v", err)
	}
}

func TestCommitTempForeignFile(t *testing.T) {
	f, dir := newFolder(t)
	other, err := os.Create(filepath.Join(dir, "plain"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CommitTemp(other, "x", Expect{Absent: true}, testMtime, 0o644, ""); err == nil {
		t.Error("committed a file that is not a temp")
	}
	tmp, _, _ := f.OpenTemp("a/x", "t")
	if err := f.CommitTemp(tmp, "b/x", Expect{Absent: true}, testMtime, 0o644, ""); err == nil {
		t.Error("committed a temp from another directory")
	}
}

func TestCommitSyncedAfterSyncAll(t *testing.T) {
	f, dir := newFolder(t)
	tmp, _, err := f.OpenTemp("sub/a.txt", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write([]byte("batched")); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncAll(); err != nil {
		t.Fatal(err)
	}
	ent, err := f.CommitSynced(tmp, "sub/a.txt", Expect{Absent: true}, 1_600_000_000_000_000_000, 0o640, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Lstat("sub/a.txt"); err != nil || got != ent {
		t.Fatalf("CommitSynced says %+v, Lstat says %+v (%v)", ent, got, err)
	}
	if err := f.SyncAll(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "sub/a.txt"))
	if err != nil || string(got) != "batched" {
		t.Fatalf("got %q, %v", got, err)
	}
	st, _ := os.Stat(filepath.Join(dir, "sub/a.txt"))
	if st.Mode().Perm() != 0o640 || st.ModTime().UnixNano() != 1_600_000_000_000_000_000 {
		t.Fatalf("metadata %v %v", st.Mode(), st.ModTime())
	}
	// The same checks as CommitTemp: a changed target is refused.
	tmp2, _, _ := f.OpenTemp("sub/a.txt", "v2")
	if _, err := f.CommitSynced(tmp2, "sub/a.txt", Expect{Absent: true}, 0, 0o644, ""); !errors.Is(err, ErrChanged) {
		t.Fatalf("commit over an unexpected file: %v", err)
	}
}
