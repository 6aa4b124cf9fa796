package lan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/proto"
)

// These tests run real LANs in network namespaces of their own, joined by
// a veth pair, by re-running the test binary inside each namespace as a
// helper that reports what it heard as one JSON line on stdout and exits
// when its stdin closes. Nothing outside those namespaces is touched.

const helperEnv = "FERRY_LAN_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(runHelper(spec))
	}
	os.Exit(m.Run())
}

// helperSpec tells a helper who it is and what it should hear.
type helperSpec struct {
	Device, Peer     proto.DeviceID
	Port             int    // TCP port announced
	Offer, PeerOffer uint32 // offered, and to be found
	Want             string // the peer's address we must learn
}

type helperResult struct {
	Lookup      []string
	OfferAddrs  []string
	OfferDevice proto.DeviceID
	Err         string
	Stats       Stats
}

func runHelper(specJSON string) int {
	var spec helperSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "helper spec:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := New(Config{
		Device:   spec.Device,
		Ports:    func() []int { return []int{spec.Port} },
		Interval: 200 * time.Millisecond,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err == nil {
		err = l.SetOffers([]uint32{spec.Offer})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	res := awaitPeer(ctx, l, spec)
	res.Stats = l.Stats()
	json.NewEncoder(os.Stdout).Encode(res)
	io.Copy(io.Discard, os.Stdin) // stay and answer until the test is done
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		return 1
	}
	return 0
}

// awaitPeer waits until the peer is heard at spec.Want, then finds its offer.
func awaitPeer(ctx context.Context, l *LAN, spec helperSpec) helperResult {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var res helperResult
	for {
		changed := l.Changed()
		res.Lookup = l.Lookup(spec.Peer)
		if slices.Contains(res.Lookup, spec.Want) {
			break
		}
		select {
		case <-ctx.Done():
			res.Err = "peer not heard at " + spec.Want
			return res
		case <-changed:
		}
	}
	addrs, dev, err := l.FindOffer(ctx, spec.PeerOffer)
	res.OfferAddrs, res.OfferDevice = addrs, dev
	if err != nil {
		res.Err = err.Error()
	}
	return res
}

// requireNetns skips where the machine forbids network namespaces (not
// root); a missing ip command is an install step undone, and fails.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating network namespaces needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the ip command is missing: apt-get install iproute2 (make test does)")
	}
}

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates a namespace deleted when the test ends, with loopback
// up, and with IPv6 addresses that are usable at once and only the
// link-local ones we assign (no duplicate detection, no generated ones).
func newNetns(t *testing.T, suffix string) string {
	t.Helper()
	name := fmt.Sprintf("ferrylan-%d-%s", os.Getpid(), suffix)
	out, err := exec.Command("ip", "netns", "add", name).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("ermission denied")) || bytes.Contains(out, []byte("ot permitted")) {
			t.Skipf("cannot create network namespaces here: %s", out)
		}
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sysctl := "for k in all default; do echo 0 > /proc/sys/net/ipv6/conf/$k/accept_dad; " +
		"echo 1 > /proc/sys/net/ipv6/conf/$k/addr_gen_mode; done"
	run(t, "ip", "netns", "exec", name, "sh", "-c", sysctl)
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// link joins namespaces a and b by veth0 (in a) and veth1 (in b), gives
// them the addresses given, and brings them up.
func link(t *testing.T, a, b string, addrsA, addrsB []string) {
	t.Helper()
	run(t, "ip", "-n", a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", b)
	for _, end := range []struct {
		ns, dev string
		addrs   []string
	}{{a, "veth0", addrsA}, {b, "veth1", addrsB}} {
		for _, addr := range end.addrs {
			run(t, "ip", "-n", end.ns, "addr", "add", addr, "dev", end.dev)
		}
		run(t, "ip", "-n", end.ns, "link", "set", end.dev, "up")
	}
	waitCarrier(t, a, "veth0")
	waitCarrier(t, b, "veth1")
}

// waitCarrier waits until the kernel has set dev up for IPv6 multicast,
// which it does once it sees the carrier, up to a second after the link
// went up; a daemon would just retry at its next announcement.
func waitCarrier(t *testing.T, ns, dev string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("ip", "-n", ns, "-6", "route", "show", "table", "local", "dev", dev).CombinedOutput()
		if err == nil && bytes.Contains(out, []byte("multicast ff00::/8")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s not ready for multicast: %v\n%s", dev, ns, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer collects a helper's log while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// helper is a running helper process.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	stderr syncBuffer
	result chan helperResult
}

func startHelper(t *testing.T, ns string, spec helperSpec) *helper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	specJSON, _ := json.Marshal(spec)
	h := &helper{result: make(chan helperResult, 1)}
	h.cmd = exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^$")
	// Without the race detector's default one-second pause at exit.
	h.cmd.Env = append(os.Environ(), helperEnv+"="+string(specJSON), "GORACE=atexit_sleep_ms=0")
	h.cmd.Stderr = &h.stderr
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.cmd.Process.Kill(); h.cmd.Wait() })
	go func() {
		var res helperResult
		line, err := bufio.NewReader(stdout).ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(line, &res)
		}
		if err != nil {
			res.Err = fmt.Sprintf("no result from helper: %v", err)
		}
		h.result <- res
	}()
	return h
}

// finish closes stdin and waits for a clean exit.
func (h *helper) finish(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("helper in %v: %v\n%s", h.cmd.Args[3], err, h.stderr.String())
	}
}

// pairCase is two helpers and what each must learn of the other.
type pairCase struct {
	nsA, nsB     string
	portA, portB int
	wantA, wantB string // A's address as B sees it, and B's as A sees it
}

func (pc pairCase) run(t *testing.T) {
	a := helperSpec{Device: devID(1), Peer: devID(2), Port: pc.portA, Offer: 1111, PeerOffer: 2222, Want: pc.wantB}
	b := helperSpec{Device: devID(2), Peer: devID(1), Port: pc.portB, Offer: 2222, PeerOffer: 1111, Want: pc.wantA}
	start := time.Now()
	ha, hb := startHelper(t, pc.nsA, a), startHelper(t, pc.nsB, b)
	for _, x := range []struct {
		h    *helper
		spec helperSpec
	}{{ha, a}, {hb, b}} {
		select {
		case res := <-x.h.result:
			checkResult(t, x.spec, res, x.h)
		case <-time.After(15 * time.Second):
			t.Fatalf("helper %s gave no result\n%s", x.spec.Device.Abbrev(), x.h.stderr.String())
		}
	}
	t.Logf("both discovered each other in %v", time.Since(start).Round(time.Millisecond))
	ha.finish(t)
	hb.finish(t)
}

func checkResult(t *testing.T, spec helperSpec, res helperResult, h *helper) {
	t.Helper()
	ok := res.Err == "" && slices.Contains(res.Lookup, spec.Want) &&
		res.OfferDevice == spec.Peer && slices.Contains(res.OfferAddrs, spec.Want) &&
		res.Stats.Dropped == 0 && res.Stats.Accepted > 0
	if !ok {
		t.Errorf("device %s: want peer at %s, got %+v\n%s", spec.Device.Abbrev(), spec.Want, res, h.stderr.String())
	}
}

func TestNetnsIPv4(t *testing.T) {
	requireNetns(t)
	t.Parallel()
	a, b := newNetns(t, "4a"), newNetns(t, "4b")
	link(t, a, b, []string{"10.231.7.1/24", "fe80::1/64"}, []string{"10.231.7.2/24", "fe80::2/64"})
	pairCase{nsA: a, nsB: b, portA: 22000, portB: 22000, wantA: "10.231.7.1:22000", wantB: "10.231.7.2:22000"}.run(t)
}

func TestNetnsIPv6Only(t *testing.T) {
	requireNetns(t)
	t.Parallel()
	a, b := newNetns(t, "6a"), newNetns(t, "6b")
	link(t, a, b, []string{"fe80::1/64"}, []string{"fe80::2/64"})
	pairCase{nsA: a, nsB: b, portA: 22000, portB: 22000,
		wantA: "[fe80::1%veth1]:22000", wantB: "[fe80::2%veth0]:22000"}.run(t)
}

// TestNetnsSameHost runs both daemons in one namespace: they share the
// announcement port and hear each other's announcements looped back.
func TestNetnsSameHost(t *testing.T) {
	requireNetns(t)
	t.Parallel()
	a, b := newNetns(t, "sa"), newNetns(t, "sb")
	link(t, a, b, []string{"10.231.8.1/24", "fe80::1/64"}, []string{"10.231.8.2/24", "fe80::2/64"})
	pairCase{nsA: a, nsB: a, portA: 22000, portB: 22001, wantA: "10.231.8.1:22000", wantB: "10.231.8.1:22001"}.run(t)
}
