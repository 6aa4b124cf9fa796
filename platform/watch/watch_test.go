package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// eventWait bounds every wait for a real filesystem event.
const eventWait = 10 * time.Second

// testOpts keeps real-notify tests fast.
var testOpts = Options{Debounce: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond}

// session is a running Watch on a real directory.
type session struct {
	t       *testing.T
	root    string
	batches chan stamped
	errc    chan error
	cancel  context.CancelFunc
	// since is when the first write or mkdirAll since the last
	// waitCovered began: the changes it waits for are no later, even when
	// they are stamped only after the writes.
	since time.Time
}

// wantBackend is the backend the watches of the running test must use (see
// eachBackend); "" accepts any.
var wantBackend string

// startWatch watches root and waits until the watch is in place (its
// initial [""] batch), and checks that it uses wantBackend. The watch
// stops at the end of the test.
func startWatch(t *testing.T, root string, opts Options) *session {
	t.Helper()
	rec := backendRecorder{make(chan string, 1)}
	check := wantBackend != "" && opts.Logger == nil
	if opts.Logger == nil {
		opts.Logger = slog.New(rec)
	}
	ctx, cancel := context.WithCancel(t.Context())
	s := &session{t: t, root: root, batches: make(chan stamped, 10000), errc: make(chan error, 1), cancel: cancel}
	go func() {
		s.errc <- Watch(ctx, root, opts, func(b Batch) { s.batches <- stamped{b, time.Now()} })
	}()
	t.Cleanup(func() { s.stop() })
	select {
	case sb := <-s.batches:
		b := sb.Batch
		if !slices.Equal(b.Paths, []string{""}) || b.Overflow {
			t.Fatalf("initial batch = %+v, want [\"\"]", b)
		}
	case err := <-s.errc:
		t.Fatalf("Watch = %v", err)
	case <-time.After(eventWait):
		t.Fatal("no initial batch")
	}
	if check {
		select {
		case got := <-rec.backend:
			if got != wantBackend {
				t.Fatalf("watching with %s, want %s", got, wantBackend)
			}
		default:
			t.Fatal("the watch logged no backend")
		}
	}
	return s
}

// backendRecorder is a slog handler that keeps the backend a watch says
// it uses.
type backendRecorder struct {
	backend chan string // cap 1
}

func (h backendRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h backendRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h backendRecorder) WithGroup(string) slog.Handler            { return h }

func (h backendRecorder) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "watching" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "backend" {
			select {
			case h.backend <- a.Value.String():
			default:
			}
		}
		return true
	})
	return nil
}

// stop cancels the watch and returns Watch's result.
func (s *session) stop() error {
	s.cancel()
	select {
	case err := <-s.errc:
		s.errc <- err
		return err
	case <-time.After(eventWait):
		s.t.Fatal("Watch did not return after cancel")
		return nil
	}
}

// stamped is a batch and when the callback received it.
type stamped struct {
	Batch
	at time.Time
}

// change is a name changed at a time.
type change struct {
	name string
	at   time.Time
}

// changed returns changes of names, all at now.
func changed(names ...string) []change {
	now := time.Now()
	cs := make([]change, len(names))
	for i, n := range names {
		cs[i] = change{n, now}
	}
	return cs
}

// waitCovered collects batches until each change is covered by a batch
// received after it, and returns the batches. It fails on a batch that
// covers everything ([""]), which would make the check empty.
func (s *session) waitCovered(changes []change) []Batch {
	s.t.Helper()
	if !s.since.IsZero() {
		changes = slices.Clone(changes)
		for i := range changes {
			if changes[i].at.After(s.since) {
				changes[i].at = s.since
			}
		}
		s.since = time.Time{}
	}
	var got []stamped
	deadline := time.After(eventWait)
	for slices.ContainsFunc(changes, func(c change) bool { return !seen(got, c) }) {
		select {
		case b := <-s.batches:
			if slices.Contains(b.Paths, "") || b.Overflow {
				s.t.Fatalf("whole-folder batch %+v", b.Batch)
			}
			got = append(got, b)
		case <-deadline:
			i := slices.IndexFunc(changes, func(c change) bool { return !seen(got, c) })
			s.t.Fatalf("%q (of %d changes) not covered by batches %v", changes[i].name, len(changes), got)
		}
	}
	batches := make([]Batch, len(got))
	for i, b := range got {
		batches[i] = b.Batch
	}
	return batches
}

// seen reports whether a batch received after c covers it.
func seen(batches []stamped, c change) bool {
	return slices.ContainsFunc(batches, func(b stamped) bool {
		return b.at.After(c.at) && coveredBy(b.Paths, c.name)
	})
}

func (s *session) path(name string) string {
	return filepath.Join(s.root, filepath.FromSlash(name))
}

// began notes that a change starts now (see since).
func (s *session) began() {
	if s.since.IsZero() {
		s.since = time.Now()
	}
}

func (s *session) write(name, content string) {
	s.t.Helper()
	s.began()
	if err := os.WriteFile(s.path(name), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) mkdirAll(name string) {
	s.t.Helper()
	s.began()
	if err := os.MkdirAll(s.path(name), 0o755); err != nil {
		s.t.Fatal(err)
	}
}

// allPaths flattens batches into their sorted distinct names, and checks
// each is sorted and minimal. A name may come in two batches when the
// events of one change straddle a debounce.
func allPaths(t *testing.T, batches []Batch) []string {
	t.Helper()
	var paths []string
	for _, b := range batches {
		if err := checkMinimal(b.Paths); err != nil {
			t.Errorf("batch %v: %v", b.Paths, err)
		}
		paths = append(paths, b.Paths...)
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

func TestWatchChanges(t *testing.T) { eachBackend(t, testWatchChanges) }

func testWatchChanges(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"mod", "del", "old", "dir/sub/gone"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(n)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := startWatch(t, root, testOpts)
	tests := []struct {
		name   string
		change func()
		want   []string
	}{
		{"create", func() { s.write("new", "1") }, []string{"new"}},
		{"modify", func() { s.write("mod", "2") }, []string{"mod"}},
		{"delete", func() { os.Remove(s.path("del")) }, []string{"del"}},
		{"rename", func() { os.Rename(s.path("old"), s.path("renamed")) }, []string{"old", "renamed"}},
		{"delete tree", func() { os.RemoveAll(s.path("dir/sub")) }, []string{"dir/sub"}},
		{"rename dir then write in it", func() {
			s.mkdirAll("d1/inner")
			s.write("d1/inner/f", "1")
			s.waitCovered(changed("d1/inner/f"))
			os.Rename(s.path("d1"), s.path("d2"))
			s.write("d2/inner/f", "2")
			s.write("d2/inner/g", "3")
		}, []string{"d1", "d2/inner/f", "d2/inner/g"}},
		{"write in renamed dir later", func() { s.write("d2/inner/h", "4") }, []string{"d2/inner/h"}},
		{"nested dirs", func() {
			s.mkdirAll("a/b/c")
			s.write("a/b/c/file", "3")
		}, []string{"a/b/c/file"}},
	}
	var expected []string // names changed so far; late duplicates may come
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.change()
			got := allPaths(t, s.waitCovered(changed(tt.want...)))
			expected = append(expected, tt.want...)
			for _, p := range got {
				if !slices.ContainsFunc(expected, func(n string) bool { return covers(p, n) }) {
					t.Errorf("unexpected path %q (batches %q)", p, got)
				}
			}
			t.Logf("paths %q", got)
		})
	}
}

// TestWatchIgnoresOwnNames checks that writes to ferry's own names make no
// batch: a change to a normal name made afterwards arrives alone.
func TestWatchIgnoresOwnNames(t *testing.T) { eachBackend(t, testWatchIgnoresOwnNames) }

func testWatchIgnoresOwnNames(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startWatch(t, root, testOpts)
	s.mkdirAll(".ferry/sub")
	s.write(".ferry/sub/state", "1")
	s.write(".ferry-tmp-1", "1")
	s.write("a/.ferry-tmp-2", "2")
	if err := os.Rename(s.path("a/.ferry-tmp-2"), s.path("a/.ferry-tmp-3")); err != nil {
		t.Fatal(err)
	}
	os.Remove(s.path(".ferry-tmp-1"))
	s.write(".ferry/sub/state", "2")
	s.write("sentinel", "x")
	got := allPaths(t, s.waitCovered(changed("sentinel")))
	if !slices.Equal(got, []string{"sentinel"}) {
		t.Errorf("batches hold %q, want only sentinel", got)
	}
}

// TestWatchBurst creates 5,000 files in new directories at once, as a
// checkout does, and checks they arrive in a few batches that cover them
// all.
func TestWatchBurst(t *testing.T) { eachBackend(t, testWatchBurst) }

func testWatchBurst(t *testing.T) {
	root := t.TempDir()
	opts := Options{Debounce: 100 * time.Millisecond, MaxDelay: time.Second}
	s := startWatch(t, root, opts)
	var changes []change
	start := time.Now()
	for i := range 5000 {
		dir := fmt.Sprintf("burst/d%d", i%50)
		if i < 50 {
			s.mkdirAll(dir)
		}
		name := fmt.Sprintf("%s/f%d", dir, i)
		s.write(name, "content")
		changes = append(changes, change{name, time.Now()})
	}
	took := time.Since(start)
	batches := s.waitCovered(changes)
	// A batch per MaxDelay while the burst lasts and one after it, with
	// room for two stalls of the disk longer than Debounce.
	if limit := 4 + int(took/opts.MaxDelay); len(batches) > limit {
		t.Errorf("%d batches for a burst of %v, want at most %d", len(batches), took, limit)
	}
	for _, b := range batches {
		if len(b.Paths) > DefaultMaxPaths {
			t.Errorf("batch of %d paths", len(b.Paths))
		}
	}
	t.Logf("%d files written in %v came in %d batches: %s", len(changes), took, len(batches), truncated(allPaths(t, batches)))
}

func truncated(paths []string) string {
	if len(paths) > 10 {
		return fmt.Sprintf("%q ... (%d)", paths[:10], len(paths))
	}
	return fmt.Sprintf("%q", paths)
}

func TestWatchRootLost(t *testing.T) { eachBackend(t, testWatchRootLost) }

func testWatchRootLost(t *testing.T) {
	for _, tt := range []struct {
		name string
		lose func(root string) error
	}{
		{"removed", os.RemoveAll},
		{"moved", func(root string) error { return os.Rename(root, root+"-moved") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "folder")
			if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			s := startWatch(t, root, testOpts)
			if err := tt.lose(root); err != nil {
				t.Fatal(err)
			}
			s.waitRootLost()
		})
	}
}

// waitRootLost waits for the watch to end on the loss of its root and
// checks that its last batch was an overflow.
func (s *session) waitRootLost() {
	s.t.Helper()
	var err error
	select {
	case err = <-s.errc:
	case <-time.After(eventWait):
		s.t.Fatal("Watch still running after its root was lost")
	}
	if !errors.Is(err, errRootLost) {
		s.t.Errorf("Watch = %v, want root lost", err)
	}
	var last Batch
	for len(s.batches) > 0 {
		last = (<-s.batches).Batch
	}
	if !last.Overflow || !slices.Equal(last.Paths, []string{""}) {
		s.t.Errorf("last batch = %+v, want overflow [\"\"]", last)
	}
	s.errc <- err // for the cleanup's stop
}

func TestWatchUnwatchable(t *testing.T) { eachBackend(t, testWatchUnwatchable) }

func testWatchUnwatchable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{filepath.Join(dir, "missing"), file} {
		called := false
		err := Watch(t.Context(), root, Options{}, func(Batch) { called = true })
		if err == nil || !strings.Contains(err.Error(), root) {
			t.Errorf("Watch(%s) = %v, want an error naming it", root, err)
		}
		if called {
			t.Errorf("Watch(%s) called fn", root)
		}
	}
	if err := Watch(t.Context(), dir, Options{MaxPaths: -1}, func(Batch) {}); err == nil {
		t.Error("Watch with negative MaxPaths = nil, want error")
	}
}

// TestWatchStopReleases checks that cancelling a watch stops it and leaves
// no goroutine behind. notify keeps a few goroutines for the life of the
// process once first used, so the baseline is taken after a first watch.
func TestWatchStopReleases(t *testing.T) { eachBackend(t, testWatchStopReleases) }

func testWatchStopReleases(t *testing.T) {
	root := t.TempDir()
	startWatch(t, root, testOpts).stop()
	baseline := waitGoroutines(t, -1)

	s := startWatch(t, root, testOpts)
	s.mkdirAll("x/y")
	s.write("x/y/f", "1")
	s.waitCovered(changed("x/y/f"))
	if err := s.stop(); err != nil {
		t.Errorf("Watch = %v, want nil after cancel", err)
	}
	if n := waitGoroutines(t, baseline); n > baseline {
		t.Errorf("%d goroutines after stop, %d before", n, baseline)
	}
}

// waitGoroutines waits until at most want goroutines run (want < 0: until
// the count is steady) and returns the count. notify dispatches each event
// on a short-lived goroutine, so the count settles shortly after events.
func waitGoroutines(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(eventWait)
	prev := -1
	for {
		n := runtime.NumGoroutine()
		if (want >= 0 && n <= want) || (want < 0 && n == prev) || time.Now().After(deadline) {
			return n
		}
		prev = n
		time.Sleep(20 * time.Millisecond)
	}
}
