//go:build unix

package platform

import (
	"net"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

func TestWalkSkipsSpecialFiles(t *testing.T) {
	f, dir := newFolder(t)
	writeFile(t, dir, "d/file", "x")
	if err := syscall.Mkfifo(filepath.Join(dir, "d/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "d/sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got, want := walkNames(t, f, ""), []string{"d", "d/file"}; !slices.Equal(got, want) {
		t.Errorf("walk = %q, want %q", got, want)
	}
	if fh, err := f.Open("d/fifo"); err == nil {
		fh.Close()
		t.Error("Open(fifo) succeeded")
	}
}
