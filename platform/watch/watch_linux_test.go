package watch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// inotifyWatches counts the inotify watches this process holds, from
// /proc/self/fdinfo.
func inotifyWatches(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil || target != "anon_inode:inotify" {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", fd.Name()))
		if err != nil {
			continue
		}
		n += strings.Count(string(info), "inotify wd:")
	}
	return n
}

// TestWatchReleasesInotify checks that a watch holds one inotify watch per
// directory, none for ferry's own directories, and releases them all when
// cancelled.
func TestWatchReleasesInotify(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/b/c", "d", ".ferry/x/y", "a/.ferry-tmp-dir"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	before := inotifyWatches(t)
	s := startWatch(t, root, testOpts)
	if got, want := inotifyWatches(t)-before, 5; got != want { // root, a, a/b, a/b/c, d
		t.Errorf("%d inotify watches while watching, want %d", got, want)
	}
	s.mkdirAll("e")
	s.write("e/f", "x")
	s.waitCovered(changed("e/f"))
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if got := inotifyWatches(t); got != before {
		t.Errorf("%d inotify watches after stop, %d before", got, before)
	}
}

// TestWatchAttributes checks that a change of permissions or times alone,
// which notify.All does not cover, is reported on Linux.
func TestWatchAttributes(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"mode", "times"} {
		if err := os.WriteFile(filepath.Join(root, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := startWatch(t, root, testOpts)
	if err := os.Chmod(s.path("mode"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := allPaths(t, s.waitCovered(changed("mode"))); !slices.Equal(got, []string{"mode"}) {
		t.Errorf("after chmod: paths %q, want [mode]", got)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(s.path("times"), old, old); err != nil {
		t.Fatal(err)
	}
	if got := allPaths(t, s.waitCovered(changed("times"))); !slices.Equal(got, []string{"times"}) {
		t.Errorf("after chtimes: paths %q, want [times]", got)
	}
}
