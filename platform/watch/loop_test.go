package watch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/syncthing/notify"
)

// fakeRoot is the root the loop tests pretend to watch.
var fakeRoot = filepath.FromSlash("/watched/root")

type fakeEvent struct {
	path string
	ev   notify.Event
}

func (e fakeEvent) Event() notify.Event { return e.ev }
func (e fakeEvent) Path() string        { return e.path }
func (e fakeEvent) Sys() any            { return nil }

// ev returns an event of kind e on rel, a slash-separated name under
// fakeRoot ("" for the root).
func ev(rel string, e notify.Event) fakeEvent {
	return fakeEvent{filepath.Join(fakeRoot, filepath.FromSlash(rel)), e}
}

// loopHarness runs a watcher loop on fake events inside a synctest bubble.
type loopHarness struct {
	t       *testing.T
	events  chan notify.EventInfo
	batches chan Batch
	stamps  chan time.Duration // when each batch was delivered, since start
	gate    chan struct{}      // if not nil, the callback waits on it after each batch
	errc    chan error
	cancel  context.CancelFunc
	start   time.Time
}

// startLoop starts the loop with opts (debounce 150ms, max delay 1s unless
// set) and an event channel of the given capacity, and consumes the
// initial [""] batch.
func startLoop(t *testing.T, opts Options, capacity int, gated bool) *loopHarness {
	t.Helper()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &loopHarness{
		t:       t,
		events:  make(chan notify.EventInfo, capacity),
		batches: make(chan Batch, 100),
		stamps:  make(chan time.Duration, 100),
		errc:    make(chan error, 1),
		start:   time.Now(),
	}
	if gated {
		h.gate = make(chan struct{})
	}
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	w := newWatcher(fakeRoot, h.events, opts)
	go func() { h.errc <- w.run(ctx, h.deliver) }()
	if b := h.next(); !slices.Equal(b.Paths, []string{""}) || b.Overflow {
		t.Fatalf("initial batch = %+v, want [\"\"]", b)
	}
	<-h.stamps
	if h.gate != nil {
		h.gate <- struct{}{}
	}
	return h
}

func (h *loopHarness) deliver(b Batch) {
	h.stamps <- time.Since(h.start)
	h.batches <- b
	if h.gate != nil {
		<-h.gate
	}
}

// next waits for the next batch; inside the bubble a batch that never comes
// is a deadlock, which synctest reports.
func (h *loopHarness) next() Batch {
	synctest.Wait()
	select {
	case b := <-h.batches:
		return b
	default:
		h.t.Fatalf("no batch at %v", time.Since(h.start))
		return Batch{}
	}
}

// none checks that no batch is waiting now.
func (h *loopHarness) none() {
	h.t.Helper()
	synctest.Wait()
	select {
	case b := <-h.batches:
		h.t.Fatalf("unexpected batch %+v at %v", b, time.Since(h.start))
	default:
	}
}

func (h *loopHarness) stop() error {
	h.cancel()
	return <-h.errc
}

func TestLoopDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, Options{}, 16, false)
		h.events <- ev("a", notify.Create)
		time.Sleep(100 * time.Millisecond)
		h.events <- ev("a/b", notify.Write)
		h.events <- ev("c", notify.Remove)
		time.Sleep(149 * time.Millisecond)
		h.none()
		time.Sleep(time.Millisecond)
		b := h.next()
		if !slices.Equal(b.Paths, []string{"a", "c"}) || b.Overflow {
			t.Errorf("batch = %+v, want [a c]", b)
		}
		if err := h.stop(); err != nil {
			t.Errorf("run = %v", err)
		}
	})
}

func TestLoopMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, Options{}, 16, false)
		// One event every 30ms, from 10ms to 2980ms; no event falls on
		// a due time.
		time.Sleep(10 * time.Millisecond)
		for i := range 100 {
			h.events <- ev(fmt.Sprintf("f%d", i), notify.Write)
			time.Sleep(30 * time.Millisecond)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		h.stop()
		close(h.stamps)
		var got []time.Duration
		for d := range h.stamps {
			got = append(got, d)
		}
		want := []time.Duration{1010 * time.Millisecond, 2030 * time.Millisecond, 3050 * time.Millisecond}
		if !slices.Equal(got, want) {
			t.Errorf("batches at %v, want %v", got, want)
		}
		var names []string
		for len(h.batches) > 0 {
			names = append(names, (<-h.batches).Paths...)
		}
		if len(names) != 100 {
			t.Errorf("%d names delivered, want 100", len(names))
		}
	})
}

// TestLoopSlowCallback checks that events keep being collected while the
// callback runs, and arrive together once it returns.
func TestLoopSlowCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, Options{}, 16, true)
		h.events <- ev("first", notify.Create)
		time.Sleep(150 * time.Millisecond)
		if b := h.next(); !slices.Equal(b.Paths, []string{"first"}) {
			t.Fatalf("batch = %+v", b)
		}
		// The callback is still running: 100 events arrive meanwhile,
		// more than the channel holds.
		for i := range 100 {
			h.events <- ev(fmt.Sprintf("d/f%d", i%10), notify.Write)
			time.Sleep(50 * time.Millisecond)
		}
		h.none()
		h.gate <- struct{}{}
		b := h.next()
		want := []string{"d/f0", "d/f1", "d/f2", "d/f3", "d/f4", "d/f5", "d/f6", "d/f7", "d/f8", "d/f9"}
		if !slices.Equal(b.Paths, want) || b.Overflow {
			t.Errorf("batch = %+v, want %v", b, want)
		}
		h.gate <- struct{}{}
		h.none()
		h.stop()
	})
}

func TestLoopIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, Options{}, 16, false)
		for _, e := range []fakeEvent{
			ev(".ferry", notify.Create),
			ev(".ferry/index", notify.Write),
			ev(".ferry-tmp-123", notify.Create),
			ev("a/.ferry-tmp-9", notify.Rename),
			ev("a/.FERRY/x", notify.Write),
			ev("", notify.Write),                                    // the root itself
			ev("", notify.Create),                                   // the root itself
			ev("bad\x01name", notify.Create),                        // refused by proto.ValidName
			{filepath.FromSlash("/watched/rootx/a"), notify.Create}, // outside
			{filepath.FromSlash("/elsewhere"), notify.Create},
		} {
			h.events <- e
		}
		time.Sleep(time.Second)
		h.none()
		h.events <- ev("a/ok", notify.Create)
		time.Sleep(150 * time.Millisecond)
		if b := h.next(); !slices.Equal(b.Paths, []string{"a/ok"}) {
			t.Errorf("batch = %+v, want [a/ok]", b)
		}
		h.stop()
	})
}

// A name only wrong in its Unicode normalization (NFD, as macOS writes
// names) makes a scan of the directory above, which renames it to NFC.
func TestLoopNotNFCScansTheParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, Options{}, 16, false)
		h.events <- ev("docs/cafe\u0301.txt", notify.Create)
		time.Sleep(time.Second)
		if b := h.next(); !slices.Equal(b.Paths, []string{"docs"}) {
			t.Errorf("batch = %+v, want [docs]", b)
		}
		h.events <- ev("re\u0301sume\u0301/cv.txt", notify.Write)
		time.Sleep(time.Second)
		if b := h.next(); !slices.Equal(b.Paths, []string{""}) {
			t.Errorf("batch = %+v, want the root", b)
		}
		h.stop()
	})
}

// TestHandleFullChannel checks that an event received from a channel that
// was full (so notify may have dropped one) makes the batch an overflow.
func TestHandleFullChannel(t *testing.T) {
	opts := Options{}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		queued   int // events still in the channel after the receive
		overflow bool
	}{{0, false}, {2, false}, {3, true}, {4, true}} {
		events := make(chan notify.EventInfo, 4)
		for range tt.queued {
			events <- ev("queued", notify.Create)
		}
		w := newWatcher(fakeRoot, events, opts)
		w.handle(ev("a", notify.Create), t0)
		b := w.co.take()
		want := Batch{Paths: []string{"a"}}
		if tt.overflow {
			want = Batch{Paths: []string{""}, Overflow: true}
		}
		if !slices.Equal(b.Paths, want.Paths) || b.Overflow != want.Overflow {
			t.Errorf("%d queued of 4: batch = %+v, want %+v", tt.queued, b, want)
		}
	}
}

// TestLoopLostEvents checks that a source's report of lost events makes
// an overflow batch, like a full channel.
func TestLoopLostEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, Options{}, 16, false)
		h.events <- ev("a", notify.Create)
		h.events <- lostEvents{}
		time.Sleep(150 * time.Millisecond)
		if b := h.next(); !b.Overflow || !slices.Equal(b.Paths, []string{""}) {
			t.Errorf("batch = %+v, want overflow [\"\"]", b)
		}
		h.events <- ev("b", notify.Create)
		time.Sleep(150 * time.Millisecond)
		if b := h.next(); b.Overflow || !slices.Equal(b.Paths, []string{"b"}) {
			t.Errorf("batch = %+v, want [b]", b)
		}
		h.stop()
	})
}

// TestLoopSourceFails checks that an error from the event source ends the
// loop with it, after an overflow batch.
func TestLoopSourceFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := Options{}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		events := make(chan notify.EventInfo, 16)
		fail := make(chan error, 1)
		w := newWatcher(fakeRoot, events, opts)
		w.fail = fail
		var batches []Batch
		errc := make(chan error, 1)
		go func() { errc <- w.run(t.Context(), func(b Batch) { batches = append(batches, b) }) }()
		synctest.Wait()
		events <- ev("a", notify.Create)
		boom := errors.New("boom")
		fail <- boom
		if err := <-errc; !errors.Is(err, boom) {
			t.Errorf("run = %v, want %v", err, boom)
		}
		if len(batches) != 2 || !batches[1].Overflow || !slices.Equal(batches[1].Paths, []string{""}) {
			t.Errorf("batches = %+v, want [\"\"] then an overflow", batches)
		}
	})
}

func TestLoopRootLost(t *testing.T) {
	for _, e := range []notify.Event{notify.Remove, notify.Rename} {
		t.Run(e.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := startLoop(t, Options{}, 16, false)
				h.events <- ev("a", notify.Remove)
				h.events <- ev("", e)
				synctest.Wait()
				select {
				case err := <-h.errc:
					if !errors.Is(err, errRootLost) {
						t.Errorf("run = %v, want errRootLost", err)
					}
				default:
					t.Fatal("run still running after the root was lost")
				}
				b := h.next()
				if !b.Overflow || !slices.Equal(b.Paths, []string{""}) {
					t.Errorf("batch = %+v, want overflow [\"\"]", b)
				}
			})
		})
	}
}

// TestLoopCancelWaitsForCallback checks that run returns only after the
// callback in progress has returned, and never calls it again.
func TestLoopCancelWaitsForCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startLoop(t, Options{}, 16, true)
		h.events <- ev("a", notify.Create)
		time.Sleep(150 * time.Millisecond)
		h.next() // the callback now waits on the gate
		h.events <- ev("b", notify.Create)
		h.cancel()
		synctest.Wait()
		if len(h.errc) != 0 {
			t.Fatal("run returned while the callback was running")
		}
		h.gate <- struct{}{}
		if err := <-h.errc; err != nil {
			t.Errorf("run = %v", err)
		}
		h.none()
	})
}

func TestWatcherName(t *testing.T) {
	opts := Options{}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	w := newWatcher(fakeRoot, nil, opts)
	tests := []struct {
		path string
		name string
		ok   bool
	}{
		{fakeRoot, "", true},
		{fakeRoot + string(filepath.Separator), "", false},
		{filepath.Join(fakeRoot, "a"), "a", true},
		{filepath.Join(fakeRoot, "a", "b", "c"), "a/b/c", true},
		{filepath.Join(fakeRoot, "a", ".ferry-tmp-x"), "", false},
		{filepath.Join(fakeRoot, ".ferry"), "", false},
		{filepath.Join(fakeRoot, ".ferryish", "x"), "", false},
		{filepath.Join(fakeRoot, ".fer"), ".fer", true},
		{filepath.Join(fakeRoot, "e\u0301"), "", true},            // not NFC: the parent, here the root
		{filepath.Join(fakeRoot, "a", "e\u0301", "x"), "a", true}, // not NFC: the nearest valid ancestor
		{filepath.Join(fakeRoot, "a", "e\u0301\x01"), "", false},  // not fixable by NFC
		{fakeRoot + "x", "", false},
		{filepath.Dir(fakeRoot), "", false},
	}
	for _, tt := range tests {
		name, ok := w.name(tt.path)
		if name != tt.name || ok != tt.ok {
			t.Errorf("name(%q) = %q, %v; want %q, %v", tt.path, name, ok, tt.name, tt.ok)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	o := Options{}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Debounce != DefaultDebounce || o.MaxDelay != DefaultMaxDelay || o.MaxPaths != DefaultMaxPaths || o.Logger == nil {
		t.Errorf("defaults not filled: %+v", o)
	}
	set := Options{Debounce: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxPaths: 3}
	if err := set.Validate(); err != nil || set.Debounce != time.Millisecond || set.MaxDelay != 2*time.Millisecond || set.MaxPaths != 3 {
		t.Errorf("set values changed: %+v, %v", set, err)
	}
	for _, bad := range []Options{{Debounce: -1}, {MaxDelay: -1}, {MaxPaths: -1}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", bad)
		}
	}
}
