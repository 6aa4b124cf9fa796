package watch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNextWatchLimit(t *testing.T) {
	tests := []struct {
		cur, dirs, want int64
	}{
		{8192, 0, 16384},               // doubling wins
		{8192, 100, 16384},             // doubling wins
		{8192, 10000, 8192 + 20480},    // room for two trees wins
		{8192, 10241, 8192 + 21504},    // rounded up to a multiple of 1024
		{16, 41, 16 + 1024},            // rounded up
		{10 << 20, 100, maxWatchLimit}, // capped
		{maxWatchLimit, 100, maxWatchLimit},
		{maxWatchLimit + 5, 100, maxWatchLimit + 5}, // never lowered
		{1 << 40, 1 << 40, 1 << 40},                 // never lowered, no overflow
		{0, 0, 0},
		{0, 1, 1024},
	}
	for _, tt := range tests {
		if got := nextWatchLimit(tt.cur, tt.dirs); got != tt.want {
			t.Errorf("nextWatchLimit(%d, %d) = %d, want %d", tt.cur, tt.dirs, got, tt.want)
		}
	}
}

// limitTree makes a tree of n directories, the root included, and some
// of ferry's own that must not count.
func limitTree(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	for i := range n - 1 {
		dir := filepath.Join(root, fmt.Sprintf("d%d", i%5), fmt.Sprintf("e%d", i))
		if i < 5 {
			dir = filepath.Dir(dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{".ferry/a/b", "d0/.ferry-tmp-1/c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "d0", "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestCountDirs(t *testing.T) {
	root := limitTree(t, 41)
	if got := countDirs(root, 1000); got != 41 {
		t.Errorf("countDirs = %d, want 41", got)
	}
	if got := countDirs(root, 10); got != 10 {
		t.Errorf("countDirs with limit 10 = %d, want 10", got)
	}
	if got := countDirs(filepath.Join(root, "missing"), 1000); got != 0 {
		t.Errorf("countDirs of a missing root = %d, want 0", got)
	}
}

// fakeWatchLimit points watchLimitPath at a file holding value (none if
// value is "") and geteuid at euid, for the rest of the test.
func fakeWatchLimit(t *testing.T, value string, euid int) string {
	path := filepath.Join(t.TempDir(), "max_user_watches")
	if value != "" {
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	oldPath, oldEuid := watchLimitPath, geteuid
	t.Cleanup(func() { watchLimitPath, geteuid = oldPath, oldEuid })
	watchLimitPath, geteuid = path, func() int { return euid }
	return path
}

// logRecorder is a slog handler that keeps every record's level, message
// and attributes as a line of text.
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(&h.buf, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&h.buf, " %s=%v", a.Key, a.Value)
		return true
	})
	h.buf.WriteString("\n")
	return nil
}

// String returns the lines so far.
func (h *logRecorder) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}

func TestRaiseWatchLimit(t *testing.T) {
	root := limitTree(t, 41)
	cause := fmt.Errorf("error while traversing %s: %w", root, unix.ENOSPC)
	tests := []struct {
		name    string
		value   string // the limit file's content; "" for none
		euid    int
		ok      bool   // nil error: raised
		want    string // the limit file's content afterwards
		errText string // in the error besides the sysctl and the count
	}{
		{"raise", "8192\n", 0, true, "16384\n", ""},
		{"room for the tree", "16\n", 0, true, "1040\n", ""},
		{"not root", "8192\n", 1000, false, "8192\n", "is 8192"},
		{"at the cap", "16777216\n", 0, false, "16777216\n", "at most"},
		{"above the cap", "20000000\n", 0, false, "20000000\n", "at most"},
		{"unreadable", "", 0, false, "", "read watch limit"},
		{"not a number", "lots\n", 0, false, "lots\n", "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fakeWatchLimit(t, tt.value, tt.euid)
			var logs logRecorder
			err := raiseWatchLimit(root, cause, slog.New(&logs))
			if got, _ := os.ReadFile(path); string(got) != tt.want {
				t.Errorf("limit file = %q, want %q", got, tt.want)
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("raiseWatchLimit = %v, want nil", err)
				}
				old := strings.TrimSpace(tt.value)
				want := fmt.Sprintf("INFO raised the inotify watch limit sysctl=fs.inotify.max_user_watches old=%s new=%s", old, strings.TrimSpace(tt.want))
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs %q, want %q", logs.String(), want)
				}
				return
			}
			checkLimitHint(t, err, cause, 41, tt.errText)
			if logs.String() != "" {
				t.Errorf("logs %q, want none", logs.String())
			}
		})
	}
}

// TestRaiseWatchLimitWriteFails makes the limit file immutable, so that
// even root cannot write it.
func TestRaiseWatchLimitWriteFails(t *testing.T) {
	root := limitTree(t, 41)
	cause := fmt.Errorf("error while traversing %s: %w", root, unix.ENOSPC)
	path := fakeWatchLimit(t, "8192\n", 0)
	setImmutable(t, path)
	var logs logRecorder
	err := raiseWatchLimit(root, cause, slog.New(&logs))
	checkLimitHint(t, err, cause, 41, "raising it to 16384")
	if got, _ := os.ReadFile(path); string(got) != "8192\n" {
		t.Errorf("limit file = %q, want it unchanged", got)
	}
}

// fsImmutable is FS_IMMUTABLE_FL from linux/fs.h.
const fsImmutable = 0x10

// setImmutable sets the immutable attribute on path until the test ends,
// or skips the test if the filesystem or the process cannot.
func setImmutable(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Skipf("cannot read file attributes: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|fsImmutable)); err != nil {
		t.Skipf("cannot make a file immutable: %v", err)
	}
	t.Cleanup(func() {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
			t.Error(err)
		}
	})
}

// checkLimitHint checks that err wraps cause and names the sysctl, the
// number of directories and text.
func checkLimitHint(t *testing.T, err, cause error, dirs int, text string) {
	t.Helper()
	if !errors.Is(err, cause) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error %v does not wrap %v", err, cause)
	}
	for _, want := range []string{"fs.inotify.max_user_watches", fmt.Sprintf("%d directories", dirs), text} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to mention %q", err, want)
		}
	}
}

func TestIsWatchLimit(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{unix.ENOSPC, true},
		{&os.PathError{Op: "error while traversing", Path: "/x", Err: unix.ENOSPC}, true},
		{errors.New("inotify: no space left on device"), true}, // the errno lost
		{unix.ENOENT, false},
		{errors.New("other"), false},
	} {
		if got := isWatchLimit(tt.err); got != tt.want {
			t.Errorf("isWatchLimit(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestWatchRaisesLimit lowers the inotify watch limit of a new user
// namespace, which is that namespace's own (user.max_inotify_watches), and
// checks that a watch running there as root raises it and then watches
// every directory, and that one not running as root fails with a hint.
func TestWatchRaisesLimit(t *testing.T) {
	if !inChild() {
		rerunInChild(t, &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		})
		return
	}
	const nsLimit = "/proc/sys/user/max_inotify_watches"
	if err := os.WriteFile(nsLimit, []byte("16"), 0o644); err != nil {
		t.Fatal(err)
	}
	setBackend(t, false)
	root := limitTree(t, 41)
	oldPath := watchLimitPath
	t.Cleanup(func() { watchLimitPath = oldPath })
	watchLimitPath = nsLimit

	t.Run("not root", func(t *testing.T) {
		oldEuid := geteuid
		t.Cleanup(func() { geteuid = oldEuid })
		geteuid = func() int { return 1000 }
		err := Watch(t.Context(), root, testOpts, func(Batch) {})
		checkLimitHint(t, err, unix.ENOSPC, 41, "is 16")
		if n := inotifyWatches(t); n != 0 {
			t.Errorf("%d inotify watches left after the failed watch", n)
		}
	})
	t.Run("root", func(t *testing.T) {
		var logs logRecorder
		s := startWatch(t, root, Options{Debounce: testOpts.Debounce, MaxDelay: testOpts.MaxDelay, Logger: slog.New(&logs)})
		if !strings.Contains(logs.String(), "old=16 new=1040") {
			t.Errorf("logs %q, want the raise from 16 to 1040", logs.String())
		}
		if got, _ := os.ReadFile(nsLimit); strings.TrimSpace(string(got)) != "1040" {
			t.Errorf("limit = %q, want 1040", got)
		}
		if n := inotifyWatches(t); n != 41 {
			t.Errorf("%d inotify watches, want 41", n)
		}
		s.write("d4/e39/f", "x")
		s.waitCovered(changed("d4/e39/f"))
	})
}
