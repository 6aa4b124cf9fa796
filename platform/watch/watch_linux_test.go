package watch

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncthing/notify"
)

func TestMain(m *testing.M) {
	// No test may change the real limit, whatever watches other
	// processes hold.
	watchLimitPath = "/nonexistent/fs.inotify.max_user_watches"
	os.Exit(m.Run())
}

// eachBackend runs test once with inotify and once with fanotify, unless
// fanotify cannot be set up here.
func eachBackend(t *testing.T, test func(t *testing.T)) {
	t.Run("inotify", func(t *testing.T) {
		setBackend(t, false)
		test(t)
	})
	t.Run("fanotify", func(t *testing.T) {
		requireFanotify(t)
		setBackend(t, true)
		test(t)
	})
}

// setBackend makes the watches of the running test use fanotify or
// inotify, and checks that they do.
func setBackend(t *testing.T, fanotify bool) {
	oldUse, oldWant := fanotifyFirst, wantBackend
	t.Cleanup(func() { fanotifyFirst, wantBackend = oldUse, oldWant })
	fanotifyFirst, wantBackend = fanotify, "inotify"
	if fanotify {
		wantBackend = "fanotify"
	}
}

// requireFanotify skips the test, with the kernel's reason, if fanotify
// cannot watch a directory here.
func requireFanotify(t *testing.T) {
	t.Helper()
	f, err := startFanotify(t.TempDir(), make(chan notify.EventInfo, 1), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Skipf("fanotify unavailable: %v", err)
	}
	f.stop()
}

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
	setBackend(t, false)
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
func TestWatchAttributes(t *testing.T) { eachBackend(t, testWatchAttributes) }

func testWatchAttributes(t *testing.T) {
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

// TestWatchNotNFC checks that a name not in Unicode NFC, as macOS writes
// names, makes a scan of the directory above it, which renames it.
func TestWatchNotNFC(t *testing.T) { eachBackend(t, testWatchNotNFC) }

func testWatchNotNFC(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startWatch(t, root, testOpts)
	s.write("docs/cafe\u0301.txt", "x")
	if got := allPaths(t, s.waitCovered(changed("docs"))); !slices.Equal(got, []string{"docs"}) {
		t.Errorf("paths = %q, want [docs]", got)
	}
}

// childEnv marks a test binary run by rerunInChild.
const childEnv = "FERRY_WATCH_TEST_CHILD"

// inChild reports whether this is a test binary run by rerunInChild.
func inChild() bool { return os.Getenv(childEnv) != "" }

// rerunInChild runs the test again in a child process started with attr
// (new namespaces), which fails the test if the child's run fails, or
// skips it if this system cannot start such a process.
func rerunInChild(t *testing.T, attr *syscall.SysProcAttr) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Skipf("cannot start a process in new namespaces: %v", err)
	}
	t.Logf("in the child:\n%s", out)
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("test in the child: %v", err)
	}
}
