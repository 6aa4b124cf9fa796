//go:build unix

package logfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logFiles lists the files in dir: the current one and the old ones.
func logFiles(t *testing.T, dir string) []os.FileInfo {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []os.FileInfo
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fi)
	}
	return out
}

// TestRotationCapsSizeAndBackups writes about seven files' worth: no file
// passes the cap, three old files are kept besides the current one, and
// the newest lines are in the current file.
func TestRotationCapsSizeAndBackups(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	path := filepath.Join(dir, "ferry.log")
	f, err := Open(path, Options{MaxMiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("x"), 300<<10-1)
	chunk = append(chunk, '\n')
	for i := range 24 {
		if _, err := f.Write(chunk); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		time.Sleep(2 * time.Millisecond) // old files are named by the millisecond
	}
	if _, err := f.Write([]byte("last line\n")); err != nil {
		t.Fatal(err)
	}
	// Old files beyond the three newest are removed in the background.
	deadline := time.Now().Add(10 * time.Second)
	for len(logFiles(t, dir)) != 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	files := logFiles(t, dir)
	if len(files) != 4 {
		t.Fatalf("%d files in the log directory, want the log and 3 old ones", len(files))
	}
	for _, fi := range files {
		if fi.Size() > 1<<20 {
			t.Errorf("%s has %d bytes, over the 1 MiB cap", fi.Name(), fi.Size())
		}
		if fi.Name() != "ferry.log" && !(strings.HasPrefix(fi.Name(), "ferry-") && strings.HasSuffix(fi.Name(), ".log")) {
			t.Errorf("unexpected file %s", fi.Name())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", fi.Name(), fi.Mode().Perm())
		}
	}
	data, err := os.ReadFile(path)
	if err != nil || !bytes.HasSuffix(data, []byte("x\nlast line\n")) {
		t.Fatalf("current file ends %q, %v", tailOf(data), err)
	}
}

func tailOf(b []byte) []byte {
	if len(b) > 40 {
		return b[len(b)-40:]
	}
	return b
}

func TestNewFileIsPrivate(t *testing.T) {
	base := t.TempDir()
	path := filepath.Join(base, "state", "ferry", "ferry.log")
	f, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir, filepath.Join(base, "state"): 0o700 | os.ModeDir,
	} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode(), err, want)
		}
	}
	// Reopened, it appends.
	f, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("again\n"))
	f.Close()
	if data, _ := os.ReadFile(path); string(data) != "hello\nagain\n" {
		t.Fatalf("file holds %q", data)
	}
}

// TestModeKeptAcrossRotation: an existing file keeps its mode without bits
// for others, and a rotation under a strict umask keeps it too.
func TestModeKeptAcrossRotation(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, c := range []struct{ have, want os.FileMode }{{0o640, 0o640}, {0o644, 0o640}, {0o666, 0o640}, {0o400, 0o600}, {0o600, 0o600}} {
		path := filepath.Join(t.TempDir(), "ferry.log")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, c.have)
		f, err := Open(path, Options{MaxMiB: 1})
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != c.want {
			t.Errorf("file of mode %v opened as %v, want %v", c.have, fi.Mode().Perm(), c.want)
		}
		big := bytes.Repeat([]byte("y"), 700<<10)
		f.Write(big)
		f.Write(big) // rotates
		if fi, _ := os.Stat(path); fi.Size() != int64(len(big)) || fi.Mode().Perm() != c.want {
			t.Errorf("after a rotation the file of mode %v has %d bytes and mode %v, want %d and %v", c.have, fi.Size(), fi.Mode().Perm(), len(big), c.want)
		}
		f.Close()
	}
}

func TestOpenRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Open(directory) = %v", err)
	}
	link := filepath.Join(dir, "link.log")
	os.Symlink("/etc/passwd", link)
	if _, err := Open(link, Options{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Open(symlink) = %v", err)
	}
}

func TestIsJournal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	st := fi.Sys().(*syscall.Stat_t)
	t.Setenv("JOURNAL_STREAM", "")
	if IsJournal(f) {
		t.Error("IsJournal without JOURNAL_STREAM")
	}
	t.Setenv("JOURNAL_STREAM", "1:2")
	if IsJournal(f) {
		t.Error("IsJournal of another stream")
	}
	t.Setenv("JOURNAL_STREAM", strings.Join([]string{uitoa(uint64(st.Dev)), uitoa(st.Ino)}, ":"))
	if !IsJournal(f) {
		t.Error("IsJournal of the journal's stream is false")
	}
}

func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }
