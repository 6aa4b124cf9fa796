//go:build unix

package platform

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// reopenTemp plants a leftover at the temp name for "f", then
// checks that OpenTemp replaces it with a fresh private file rather than
// writing into what was there.
func reopenTemp(t *testing.T, plant func(tempPath string)) *os.File {
	t.Helper()
	f, dir := newFolder(t)
	tempPath := filepath.Join(dir, ".ferry-tmp-f-v1")
	plant(tempPath)
	done := make(chan struct{})
	var (
		tmp     *os.File
		existed bool
		err     error
	)
	go func() {
		defer close(done)
		tmp, existed, err = f.OpenTemp("f", "v1")
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("OpenTemp hangs on the leftover")
	}
	if err != nil || existed {
		t.Fatalf("OpenTemp = %v, existed %v; want a fresh temp", err, existed)
	}
	t.Cleanup(func() { tmp.Close() })
	fi, err := tmp.Stat()
	st := fi.Sys().(*syscall.Stat_t)
	if err != nil || !fi.Mode().IsRegular() || st.Nlink != 1 || int(st.Uid) != os.Geteuid() || fi.Size() != 0 {
		t.Fatalf("new temp: %v nlink %d uid %d size %d, %v", fi.Mode(), st.Nlink, st.Uid, fi.Size(), err)
	}
	return tmp
}

func TestOpenTempReplacesHardLink(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := reopenTemp(t, func(p string) {
		if err := os.Link(victim, p); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := tmp.WriteString("pulled content"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("file linked from outside changed to %q", b)
	}
}

func TestOpenTempReplacesForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	reopenTemp(t, func(p string) {
		if err := os.WriteFile(p, []byte("planted"), 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenTempReplacesFIFO(t *testing.T) {
	reopenTemp(t, func(p string) {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	})
}
