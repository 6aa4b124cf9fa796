package portmap

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// runHarness runs Run with timers the test fires.
type runHarness struct {
	waits   chan time.Duration
	ticks   chan time.Time
	changes chan Mapping
	done    chan struct{}
	err     error // of Run, once done is closed
	cancel  context.CancelFunc
}

func startRun(t *testing.T, cfg Config) *runHarness {
	t.Helper()
	h := &runHarness{
		waits:   make(chan time.Duration),
		ticks:   make(chan time.Time),
		changes: make(chan Mapping, 8),
		done:    make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(t.Context())
	cfg.After = func(d time.Duration) <-chan time.Time {
		select {
		case h.waits <- d:
		case <-ctx.Done():
		}
		return h.ticks
	}
	h.cancel = cancel
	go func() {
		defer close(h.done)
		h.err = Run(ctx, cfg, func(m Mapping) { h.changes <- m })
	}()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

func (h *runHarness) wait(t *testing.T, want time.Duration) {
	t.Helper()
	select {
	case d := <-h.waits:
		if d != want {
			t.Fatalf("Run waits %v, want %v", d, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run does not wait for renewal")
	}
}

func (h *runHarness) change(t *testing.T, want netip.AddrPort) {
	t.Helper()
	select {
	case m := <-h.changes:
		if m.External != want {
			t.Fatalf("onChange(%v), want %v", m.External, want)
		}
	default:
		t.Fatalf("no onChange(%v)", want)
	}
}

func (h *runHarness) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	<-h.done
	if h.err != nil {
		t.Fatalf("Run = %v", h.err)
	}
}

func TestRunNATPMP(t *testing.T) {
	f := newFakeNATPMP(t)
	f.set(func(f *fakeNATPMP) { f.maxLife = 600 })
	h := startRun(t, natpmpConfig(f))
	h.wait(t, 300*time.Second) // half of what is granted
	h.change(t, netip.MustParseAddrPort("198.51.100.9:22000"))

	h.ticks <- epoch
	h.wait(t, 300*time.Second)
	if got := f.seen(); len(got) != 2 || got[1] != (natpmpRequest{22000, 22000, 3600}) {
		t.Fatalf("requests = %+v, want a renewal", got)
	}
	if len(h.changes) != 0 {
		t.Fatalf("onChange(%v) without a change", <-h.changes)
	}

	f.set(func(f *fakeNATPMP) { f.external = netip.MustParseAddr("198.51.100.10") })
	h.ticks <- epoch
	h.wait(t, 300*time.Second)
	h.change(t, netip.MustParseAddrPort("198.51.100.10:22000"))

	h.stop(t)
	if got := f.seen(); got[len(got)-1] != (natpmpRequest{22000, 0, 0}) {
		t.Fatalf("requests = %+v, want a deletion last", got)
	}
}

func TestRunUPnP(t *testing.T) {
	f := newFakeIGD(t)
	cfg := upnpConfig(f)
	cfg.Lifetime = 10 * time.Minute
	h := startRun(t, cfg)
	h.wait(t, 5*time.Minute)
	h.change(t, netip.MustParseAddrPort("203.0.113.7:22000"))

	f.set(func(f *fakeIGD) { f.external = "203.0.113.8" })
	h.ticks <- epoch
	h.wait(t, 5*time.Minute)
	h.change(t, netip.MustParseAddrPort("203.0.113.8:22000"))
	if n := len(f.seen("AddPortMapping")); n != 2 {
		t.Fatalf("AddPortMapping calls = %d, want 2", n)
	}

	// A router that stops mapping loses the mapping and Run says so.
	f.set(func(f *fakeIGD) { f.fault = 501 })
	h.ticks <- epoch
	h.wait(t, cfg.withDefaults().Retry)
	select {
	case m := <-h.changes:
		if m.Valid() {
			t.Fatalf("onChange(%+v), want the mapping lost", m)
		}
	default:
		t.Fatal("no onChange for the lost mapping")
	}

	f.set(func(f *fakeIGD) { f.fault = 0 })
	h.ticks <- epoch
	h.wait(t, 5*time.Minute)
	h.change(t, netip.MustParseAddrPort("203.0.113.8:22000"))

	h.stop(t)
	if dels := f.seen("DeletePortMapping"); len(dels) != 1 || dels[0].args["NewExternalPort"] != "22000" {
		t.Fatalf("DeletePortMapping calls = %+v, want one on stop", dels)
	}
}

func (c Config) withDefaults() Config {
	c.Validate()
	return c
}
