package node

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ferry/engine/config"
	"ferry/proto"
)

// sinkConn takes every write and answers every read at once, recording the
// size of each write.
type sinkConn struct {
	remote net.Addr
	mu     sync.Mutex
	writes []int
	total  int
}

func (s *sinkConn) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.writes = append(s.writes, len(p))
	s.total += len(p)
	s.mu.Unlock()
	return len(p), nil
}

func (s *sinkConn) Read(p []byte) (int, error)       { return len(p), nil }
func (s *sinkConn) Close() error                     { return nil }
func (s *sinkConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (s *sinkConn) RemoteAddr() net.Addr             { return s.remote }
func (s *sinkConn) SetDeadline(time.Time) error      { return nil }
func (s *sinkConn) SetReadDeadline(time.Time) error  { return nil }
func (s *sinkConn) SetWriteDeadline(time.Time) error { return nil }

var (
	lanAddr    = &net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 22110}
	remoteAddr = &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 22110}
)

func testBandwidth(l limits) *bandwidth {
	b := newBandwidth(slog.New(slog.DiscardHandler))
	b.apply(l, true)
	return b
}

func deviceLimit(dev proto.DeviceID, send, recv int64) limits {
	return limits{devices: map[proto.DeviceID][2]int64{dev: {send, recv}}}
}

// elapsed runs f and returns how long it took.
func elapsed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// A burst of a tenth of a second's worth goes at once, the rest at the
// rate: 512 KiB at 1 MiB/s take about 0.4 s, in pieces no larger than the
// burst.
func TestLimitedConnSend(t *testing.T) {
	b := testBandwidth(deviceLimit(devA, 1<<20, 0))
	sink := &sinkConn{remote: lanAddr}
	c := b.wrap(sink, devA, false)
	var n int
	var err error
	d := elapsed(func() { n, err = c.Write(make([]byte, 512<<10)) })
	if err != nil || n != 512<<10 || sink.total != 512<<10 {
		t.Fatalf("Write = %d, %v; %d bytes arrived", n, err, sink.total)
	}
	if d < 300*time.Millisecond || d > 2*time.Second {
		t.Fatalf("512 KiB at 1 MiB/s took %v, want about 0.4 s", d)
	}
	for _, w := range sink.writes {
		if w > (1<<20)/10 {
			t.Fatalf("a write of %d bytes, above the burst", w)
		}
	}
	if len(sink.writes) < 5 {
		t.Fatalf("the write was cut into %d pieces", len(sink.writes))
	}
}

func TestLimitedConnRecv(t *testing.T) {
	b := testBandwidth(deviceLimit(devA, 0, 1<<20))
	c := b.wrap(&sinkConn{remote: lanAddr}, devA, false)
	buf := make([]byte, 1<<20)
	got := 0
	d := elapsed(func() {
		for got < 512<<10 {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if n > (1<<20)/10 {
				t.Fatalf("a read of %d bytes, above the burst", n)
			}
			got += n
		}
	})
	if d < 300*time.Millisecond || d > 2*time.Second {
		t.Fatalf("512 KiB at 1 MiB/s took %v, want about 0.4 s", d)
	}
	// Sending has no limit.
	if d := elapsed(func() { c.Write(make([]byte, 4<<20)) }); d > 200*time.Millisecond {
		t.Fatalf("an unlimited write took %v", d)
	}
}

// The shared limit counts the connections of every device together, but
// not those on the local network nor relayed ones, unless LimitLAN says so.
func TestSharedLimit(t *testing.T) {
	b := testBandwidth(limits{send: 1 << 20})
	var wg sync.WaitGroup
	d := elapsed(func() {
		for _, dev := range []proto.DeviceID{devA, devB} {
			c := b.wrap(&sinkConn{remote: remoteAddr}, dev, false)
			wg.Go(func() { c.Write(make([]byte, 256<<10)) })
		}
		wg.Wait()
	})
	if d < 300*time.Millisecond || d > 2*time.Second {
		t.Fatalf("2 × 256 KiB at 1 MiB/s shared took %v, want about 0.4 s", d)
	}
	for name, c := range map[string]net.Conn{
		"LAN":     b.wrap(&sinkConn{remote: lanAddr}, devA, false),
		"relayed": b.wrap(&sinkConn{remote: remoteAddr}, devA, true),
	} {
		if d := elapsed(func() { c.Write(make([]byte, 2<<20)) }); d > 200*time.Millisecond {
			t.Errorf("a %s connection was held by the shared limit: 2 MiB took %v", name, d)
		}
	}
	b.apply(limits{send: 1 << 20, lan: true}, false)
	c := b.wrap(&sinkConn{remote: lanAddr}, devA, false)
	if d := elapsed(func() { c.Write(make([]byte, 512<<10)) }); d < 300*time.Millisecond {
		t.Fatalf("with limitLAN a LAN connection sent 512 KiB at 1 MiB/s in %v", d)
	}
}

// A device's own limit holds on the local network too, under the shared
// one: the lower of the two wins.
func TestDeviceLimitOnLAN(t *testing.T) {
	l := deviceLimit(devA, 1<<20, 0)
	l.send = 64 << 20
	b := testBandwidth(l)
	c := b.wrap(&sinkConn{remote: &net.TCPAddr{IP: net.IPv6loopback, Port: 1}}, devA, false)
	if d := elapsed(func() { c.Write(make([]byte, 512<<10)) }); d < 300*time.Millisecond {
		t.Fatalf("512 KiB at 1 MiB/s over loopback took %v", d)
	}
	other := b.wrap(&sinkConn{remote: remoteAddr}, devB, false)
	if d := elapsed(func() { other.Write(make([]byte, 2<<20)) }); d > 300*time.Millisecond {
		t.Fatalf("another device was held: 2 MiB under 64 MiB/s took %v", d)
	}
}

// A change of the limits reaches live connections, and a wait under way.
func TestLimitChangesLive(t *testing.T) {
	b := testBandwidth(deviceLimit(devA, 64<<10, 0))
	c := b.wrap(&sinkConn{remote: remoteAddr}, devA, false)
	done := make(chan time.Duration)
	go func() { done <- elapsed(func() { c.Write(make([]byte, 1<<20)) }) }()
	time.Sleep(100 * time.Millisecond)
	trusted := func(l limits) limits {
		if l.devices == nil {
			l.devices = map[proto.DeviceID][2]int64{devA: {0, 0}}
		}
		return l
	}
	b.apply(trusted(limits{}), false)
	select {
	case d := <-done:
		if d > 2*time.Second {
			t.Fatalf("the write took %v after the limit was lifted", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("1 MiB at the old 64 KiB/s: the lifted limit did not reach the connection")
	}
	if d := elapsed(func() { c.Write(make([]byte, 4<<20)) }); d > 200*time.Millisecond {
		t.Fatalf("an unlimited write took %v", d)
	}
	b.apply(trusted(limits{send: 1 << 20}), false)
	if d := elapsed(func() { c.Write(make([]byte, 512<<10)) }); d < 300*time.Millisecond {
		t.Fatalf("a limit set later did not reach the connection: 512 KiB at 1 MiB/s took %v", d)
	}
	b.apply(limits{send: 1 << 20, devices: map[proto.DeviceID][2]int64{devA: {0, 0}}}, false)
	if d := elapsed(func() { c.Write(make([]byte, 512<<10)) }); d < 300*time.Millisecond {
		t.Fatalf("the shared limit lapsed when the device's lapsed: 512 KiB took %v", d)
	}
}

// Waits end at the deadline, including one set while they wait, and give
// back the tokens of what was not written.
func TestLimitedDeadline(t *testing.T) {
	b := testBandwidth(deviceLimit(devA, minBurst, minBurst))
	sink := &sinkConn{remote: remoteAddr}
	c := b.wrap(sink, devA, false)
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	var n int
	var err error
	d := elapsed(func() { n, err = c.Write(make([]byte, 64<<10)) })
	if !errors.Is(err, os.ErrDeadlineExceeded) || n != minBurst {
		t.Fatalf("Write = %d, %v; want %d and a deadline error", n, err, minBurst)
	}
	if d < 150*time.Millisecond || d > 800*time.Millisecond {
		t.Fatalf("the write gave up after %v, want 200 ms", d)
	}

	c.SetWriteDeadline(time.Time{})
	errc := make(chan error)
	go func() {
		_, err := c.Write(make([]byte, 64<<10))
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	c.SetDeadline(time.Now())
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("a deadline set during the wait: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a deadline set during the wait did not end it")
	}

	// A read returns what it read when its deadline cuts the wait.
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 64<<10)
	d = elapsed(func() {
		for range 3 {
			if n, _ := c.Read(buf); n == 0 || n > minBurst {
				t.Fatalf("Read = %d bytes", n)
			}
		}
	})
	if d < 150*time.Millisecond || d > 800*time.Millisecond {
		t.Fatalf("3 reads at %d B/s with a deadline 200 ms away took %v", minBurst, d)
	}
}

func TestLimitedClose(t *testing.T) {
	b := testBandwidth(deviceLimit(devA, minBurst, 0))
	c := b.wrap(&sinkConn{remote: remoteAddr}, devA, false)
	errc := make(chan error)
	go func() {
		_, err := c.Write(make([]byte, 1<<20))
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write after Close = %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not end the wait")
	}
}

// With no limit a connection passes every call through whole, without
// allocating.
func TestLimitedConnOff(t *testing.T) {
	b := testBandwidth(limits{send: 1 << 20, recv: 1 << 20}) // a LAN connection is exempt
	sink := &sinkConn{remote: lanAddr, writes: make([]int, 0, 1000)}
	c := b.wrap(sink, devA, false)
	buf := make([]byte, 8<<20)
	allocs := testing.AllocsPerRun(100, func() {
		c.Write(buf)
		c.Read(buf)
		c.SetReadDeadline(time.Time{})
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call with no limit", allocs)
	}
	for _, w := range sink.writes {
		if w != len(buf) {
			t.Fatalf("a write of %d bytes was cut", len(buf))
		}
	}
}

func TestIsLAN(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:1": true, "[::1]:1": true, "10.1.2.3:1": true, "172.16.0.1:1": true, "172.31.255.1:1": true,
		"192.168.0.9:1": true, "169.254.1.1:1": true, "[fe80::1]:1": true, "[fd12:3456::1]:1": true,
		"[::ffff:192.168.1.1]:1": true, "172.32.0.1:1": false, "8.8.8.8:1": false, "[2001:db8::1]:1": false,
		"100.64.0.1:1": false,
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLAN(a); got != want {
			t.Errorf("isLAN(%s) = %v, want %v", addr, got, want)
		}
	}
	if isLAN(nil) || isLAN(fakeAddr("x")) {
		t.Error("an address that is no IP counts as LAN")
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "relay" }
func (a fakeAddr) String() string  { return string(a) }

func TestLimitsOf(t *testing.T) {
	cfg := config.Config{MaxSend: 100, MaxRecv: 200, LimitLAN: true, Devices: []config.Device{{ID: devA, MaxSend: 5}, {ID: devB}}}
	l := limitsOf(cfg, nil, nil)
	if l.send != 100 || l.recv != 200 || !l.lan || l.devices[devA] != [2]int64{5, 0} {
		t.Fatalf("limitsOf = %+v", l)
	}
	zero, five := int64(0), int64(5)
	if l := limitsOf(cfg, &zero, &five); l.send != 0 || l.recv != 5 {
		t.Fatalf("with overrides: %+v", l)
	}
	if !l.equal(limitsOf(cfg, nil, nil)) || l.equal(limitsOf(config.Config{}, nil, nil)) {
		t.Fatal("equal is wrong")
	}
}

// The cost of a connection's Write with no limit (Off) against the bare
// connection (Raw), and with a limit too high to wait on (On).
func BenchmarkLimitedConnRaw(b *testing.B) { benchWrite(b, &discardConn{}) }

func BenchmarkLimitedConnOff(b *testing.B) {
	bw := testBandwidth(limits{})
	benchWrite(b, bw.wrap(&discardConn{}, devA, false))
}

func BenchmarkLimitedConnOn(b *testing.B) {
	bw := testBandwidth(deviceLimit(devA, config.MaxRate, 0))
	benchWrite(b, bw.wrap(&discardConn{}, devA, false))
}

func benchWrite(b *testing.B, w io.Writer) {
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// discardConn is a connection that takes writes and does nothing else.
type discardConn struct{ sinkConn }

func (*discardConn) Write(p []byte) (int, error) { return len(p), nil }

// A limit set through a config change holds on the live connection, and
// lifting it speeds the transfer up without a new connection.
func TestLimitFollowsConfigChange(t *testing.T) {
	base := t.TempDir()
	a := startNode(t, "a", map[string]string{"docs": filepath.Join(base, "a")})
	b := startNode(t, "b", map[string]string{"docs": filepath.Join(base, "b")})
	trust(t, a, b.id, nil, "docs")
	trust(t, b, a.id, []string{a.addr}, "docs")
	waitUntil(t, func() bool { return peerStatus(t, a, b.id).Connected && a.conns.conn(b.id) != nil })
	conn := a.conns.conn(b.id)
	const rate, size = 512 << 10, 8 << 20
	if err := a.changeConfig(func(c *config.Config) error { return c.SetDeviceLimits(b.id, rate, 0) }); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(data)
	if err := os.WriteFile(filepath.Join(base, "a", "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Scan(t.Context(), "docs", ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return peerStatus(t, b, a.id).InBytes >= rate/2 })
	in0, t0 := peerStatus(t, b, a.id).InBytes, time.Now()
	time.Sleep(2 * time.Second)
	in1, t1 := peerStatus(t, b, a.id).InBytes, time.Now()
	got := float64(in1-in0) / t1.Sub(t0).Seconds()
	t.Logf("b received at %.0f bytes/s under a limit of %d", got, rate)
	if got < 0.75*rate || got > 1.25*rate {
		t.Fatalf("b received at %.0f bytes/s under a limit of %d", got, rate)
	}
	if err := a.changeConfig(func(c *config.Config) error { return c.SetDeviceLimits(b.id, 0, 0) }); err != nil {
		t.Fatal(err)
	}
	lifted := time.Now()
	waitUntil(t, func() bool {
		got, err := os.ReadFile(filepath.Join(base, "b", "big.bin"))
		return err == nil && bytes.Equal(got, data)
	})
	if d := time.Since(lifted); d > 5*time.Second {
		t.Fatalf("the rest took %v once the limit was lifted; at the limit it takes about 10 s", d)
	}
	if a.conns.conn(b.id) != conn {
		t.Fatal("the connection was replaced: a limit change must not reconnect")
	}
}
