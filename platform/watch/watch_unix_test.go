//go:build unix

package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWatchSymlinkRoot watches a folder through a symlink to it.
func TestWatchSymlinkRoot(t *testing.T) { eachBackend(t, testWatchSymlinkRoot) }

func testWatchSymlinkRoot(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	link := filepath.Join(dir, "link")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	s := startWatch(t, link, testOpts)
	s.write("f", "x")
	if got := allPaths(t, s.waitCovered(changed("f"))); !slices.Equal(got, []string{"f"}) {
		t.Errorf("paths = %q, want [f]", got)
	}
}
