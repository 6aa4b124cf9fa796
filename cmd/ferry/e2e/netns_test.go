package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pairing "ferry/proto/pair"
)

// lanPair is two network namespaces joined by a veth pair: a small LAN of
// two machines, with addresses of our own and no route anywhere else.
type lanPair struct {
	ns    [2]string
	addrs [2]string // IPv4 addresses; empty on an IPv6-only LAN
}

var netnsSeq atomic.Int32

// newLANPair makes the namespaces, or skips the test where this machine
// cannot (not root): a physical reason. A missing ip command is an install
// step undone (make test installs it), and fails.
func newLANPair(t *testing.T) *lanPair { return makeLANPair(t, false) }

// makeLANPair makes the namespaces; on an IPv6-only LAN the interfaces have
// only their link-local IPv6 addresses.
func makeLANPair(t *testing.T, ipv6Only bool) *lanPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("network namespaces need the ip command: apt-get install iproute2 (make test does)")
	}
	n := netnsSeq.Add(1)
	tag := fmt.Sprintf("fe%d-%d", os.Getpid()%100000, n)
	subnet := fmt.Sprintf("10.%d.%d", 200+os.Getpid()%50, n%250)
	l := &lanPair{
		ns:    [2]string{tag + "a", tag + "b"},
		addrs: [2]string{subnet + ".1", subnet + ".2"},
	}
	vA, vB := "v"+tag+"a", "v"+tag+"b"
	t.Cleanup(func() {
		for _, ns := range l.ns {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	steps := [][]string{
		{"netns", "add", l.ns[0]},
		{"netns", "add", l.ns[1]},
		{"link", "add", vA, "netns", l.ns[0], "type", "veth", "peer", "name", vB, "netns", l.ns[1]},
	}
	for i, ns := range l.ns {
		v := []string{vA, vB}[i]
		steps = append(steps,
			[]string{"-n", ns, "link", "set", "lo", "up"},
			// No duplicate address detection: link-local addresses work at once.
			[]string{"netns", "exec", ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/" + v + "/accept_dad"},
		)
		if !ipv6Only {
			steps = append(steps, []string{"-n", ns, "addr", "add", l.addrs[i] + "/24", "broadcast", subnet + ".255", "dev", v})
		}
		steps = append(steps, []string{"-n", ns, "link", "set", v, "up"})
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	if ipv6Only {
		l.addrs = [2]string{}
	}
	return l
}

// device makes a device whose daemon and CLI run in namespace i, listening
// on all its addresses, with local discovery on.
func (l *lanPair) device(t *testing.T, name string, i int) *device {
	t.Helper()
	base := t.TempDir()
	d := &device{
		t: t, name: name, home: filepath.Join(base, "home"), folder: filepath.Join(base, "folder"),
		listen: ":22110", gui: "127.0.0.1:8484", netns: l.ns[i],
	}
	if err := os.MkdirAll(d.folder, 0o755); err != nil {
		t.Fatal(err)
	}
	d.id = strings.TrimSpace(d.ferry("id"))
	t.Cleanup(func() { d.stop() })
	return d
}

// Two devices that know each other's ID but no address find each other on
// the LAN and sync.
func TestLANDiscoveryConnectsWithoutAddresses(t *testing.T) {
	discoverAndSync(t, newLANPair(t))
}

// The same on a LAN with only IPv6 link-local addresses: found by
// multicast, dialled at the link-local address with its zone.
func TestLANDiscoveryIPv6Only(t *testing.T) {
	discoverAndSync(t, makeLANPair(t, true))
}

func discoverAndSync(t *testing.T, l *lanPair) {
	a, b := l.device(t, "A", 0), l.device(t, "B", 1)
	for _, d := range []*device{a, b} {
		d.ferry("folder", "add", d.folder, "--id", "docs")
	}
	a.ferry("device", "add", b.id, "--name", "B")
	b.ferry("device", "add", a.id, "--name", "A")
	a.ferry("folder", "share", "docs", b.id)
	b.ferry("folder", "share", "docs", a.id)
	writeFile(t, a.path("found.txt"), []byte("over the LAN"), 0o644)
	a.start()
	b.start()
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range []*device{a, b} {
				out, _, _ := d.try("status", "--json")
				t.Logf("%s status: %s\nlog:\n%s", d.name, out, tail(d.log.String(), 3000))
			}
		}
	})
	waitFor(t, 20*time.Second, "B's file from A", func() bool { return sameContent(b.path("found.txt"), []byte("over the LAN")) })
	ga, gb := a.peer(b.id), b.peer(a.id)
	if !ga.Connected || !gb.Connected {
		t.Fatalf("A lists B as %+v, B lists A as %+v; want both connected", ga, gb)
	}
	// One dialled the other at the address it heard on the LAN.
	if vias := []string{ga.Via, gb.Via}; !slices.Contains(vias, "lan") || !slices.Contains(vias, "incoming") {
		t.Errorf("the connection came about via %q; want one side to say lan, the other incoming", vias)
	}
}

// offer runs `ferry pair` on d in the background and returns the code it
// shows and a channel with its result.
func offer(t *testing.T, d *device, args ...string) (code string, done <-chan pairEnd) {
	t.Helper()
	cmd := d.command(append([]string{"pair"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var out bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(stdout, &out))
	re := regexp.MustCompile(`^Pairing code:\s+(\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			code = m[1]
			break
		}
	}
	if code == "" {
		cmd.Wait()
		t.Fatalf("%s: ferry pair printed no code:\n%s%s", d.name, out.String(), stderr.String())
	}
	ch := make(chan pairEnd, 1)
	go func() {
		rest, _ := io.ReadAll(stdout)
		err := cmd.Wait()
		ch <- pairEnd{err: err, stdout: out.String() + string(rest), stderr: stderr.String()}
	}()
	return code, ch
}

type pairEnd struct {
	err            error
	stdout, stderr string
}

func waitPair(t *testing.T, ch <-chan pairEnd) pairEnd {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("ferry pair did not finish within 30 s")
		return pairEnd{}
	}
}

// The whole pairing story on a LAN: A shows a code, B types it, and the
// folder A offered syncs to where B put it, with no ID or address typed.
func TestPairWithCodeOverLAN(t *testing.T) {
	l := newLANPair(t)
	a, b := l.device(t, "A", 0), l.device(t, "B", 1)
	a.ferry("folder", "add", a.folder, "--id", "docs")
	writeFile(t, a.path("hello.txt"), []byte("paired by code"), 0o644)
	a.start()
	b.start()
	code, done := offer(t, a, "--folder", "docs")
	if !regexp.MustCompile(`^\d+(-[a-z]+){3}$`).MatchString(code) {
		t.Fatalf("code %q does not look like 7-harbor-tulip", code)
	}
	into := filepath.Join(t.TempDir(), "synced")
	out := b.ferry("pair", code, "--into", into)
	if !strings.Contains(out, "Paired with "+a.id) || !strings.Contains(out, "folder docs -> "+filepath.Join(into, "docs")) {
		t.Fatalf("B's pair output:\n%s", out)
	}
	end := waitPair(t, done)
	if end.err != nil || !strings.Contains(end.stdout, "Paired with "+b.id) {
		t.Fatalf("A's pair: %v\n%s%s", end.err, end.stdout, end.stderr)
	}
	got := filepath.Join(into, "docs", "hello.txt")
	waitFor(t, 20*time.Second, "hello.txt on B", func() bool { return sameContent(got, []byte("paired by code")) })
	if !a.peer(b.id).Connected || !b.peer(a.id).Connected {
		t.Fatal("paired devices are not connected")
	}
	// Changes flow both ways from then on.
	writeFile(t, filepath.Join(into, "docs", "reply.txt"), []byte("from B"), 0o644)
	waitFor(t, 20*time.Second, "reply.txt on A", func() bool { return sameContent(a.path("reply.txt"), []byte("from B")) })
}

// A wrong code fails on both sides and burns the offer: the right code
// does not work afterwards, so guessing online gets one try.
func TestPairWrongCodeBurnsOffer(t *testing.T) {
	l := newLANPair(t)
	a, b := l.device(t, "A", 0), l.device(t, "B", 1)
	a.ferry("folder", "add", a.folder, "--id", "docs")
	a.start()
	b.start()
	code, done := offer(t, a)
	num, words, _ := strings.Cut(code, "-")
	wrong := num + "-" + otherWords(t, words)
	_, errOut, exit := b.try("pair", wrong, "--into", t.TempDir())
	if exit != 1 || !strings.Contains(errOut, "code is wrong") {
		t.Fatalf("B with a wrong code: exit %d: %s", exit, errOut)
	}
	end := waitPair(t, done)
	if end.err == nil || !strings.Contains(end.stderr, "wrong code") {
		t.Fatalf("A after a wrong code: %v\n%s%s", end.err, end.stdout, end.stderr)
	}
	// Straight to A's address: the offer is no longer announced either.
	_, errOut, exit = b.try("pair", code, "--into", t.TempDir(), "--addr", l.addrs[0]+":22110")
	if exit != 1 || !strings.Contains(errOut, "no such offer") {
		t.Fatalf("the right code after a wrong one: exit %d: %s", exit, errOut)
	}
	for _, d := range []*device{a, b} {
		if s := d.status(); len(s.Devices) != 0 {
			t.Fatalf("%s trusts %d devices after failed pairings", d.name, len(s.Devices))
		}
	}
}

// otherWords returns other words from the code list than words.
func otherWords(t *testing.T, words string) string {
	for {
		c, err := pairing.NewCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.Join(c.Words(), "-"); w != words {
			return w
		}
	}
}
