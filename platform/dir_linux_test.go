package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenDir covers both ways a directory is reached: openat2(2) and the
// walk one component at a time used where the kernel lacks it.
func TestOpenDir(t *testing.T) {
	for _, walk := range []bool{false, true} {
		name := map[bool]string{false: "openat2", true: "walk"}[walk]
		t.Run(name, func(t *testing.T) {
			noOpenat2.Store(walk)
			t.Cleanup(func() { noOpenat2.Store(false) })
			f, _, _, _ := hostileSetup(t)
			for _, dir := range []string{".", "real"} {
				d, err := f.openDir(dir)
				if err != nil {
					t.Fatalf("openDir(%q): %v", dir, err)
				}
				if _, err := d.lstat("present"); dir == "." && err != nil {
					t.Errorf("lstat present in %q: %v", dir, err)
				}
				d.close()
			}
			for _, dir := range []string{"link", "inlink", "rel", "link/sub"} {
				if d, err := f.openDir(dir); !errors.Is(err, errSymlinkInPath) {
					if d != nil {
						d.close()
					}
					t.Errorf("openDir(%q) = %v, want %v", dir, err, errSymlinkInPath)
				}
			}
			for _, dir := range []string{"..", "real/../..", "real/../link", "/tmp", "real//x"} {
				if d, err := f.openDir(dir); err == nil {
					d.close()
					t.Errorf("openDir(%q) succeeded", dir)
				}
			}
			if _, err := f.openDir("missing/x"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("openDir(missing/x) = %v, want ErrNotExist", err)
			}
			if _, err := f.openDir("present"); err == nil {
				t.Error("openDir of a file succeeded")
			}
			if walk {
				t.Run("hostile names", TestHostileNames)
				t.Run("final symlink", TestFinalSymlinkNotFollowed)
			}
		})
	}
}

// TestOpenFIFODoesNotBlock: a FIFO swapped in after a type check must not
// make the open wait for a writer.
func TestOpenFIFODoesNotBlock(t *testing.T) {
	f, dir := newFolder(t)
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := f.openDir(".")
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	done := make(chan error, 1)
	go func() {
		fh, err := d.open("pipe", os.O_RDONLY, 0)
		if err == nil {
			fh.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("open fifo: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("open of a fifo blocks")
	}
}
