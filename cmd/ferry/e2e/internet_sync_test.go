package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The daemon-level tests of the internet test bed (internet_test.go):
// devices behind NAT routers, on no common LAN and with no address
// configured, find each other through the local DHT and connect, directly
// through mapped ports or through a device both trust.

// logOnFailure logs the daemons' logs if the test fails.
func logOnFailure(t *testing.T, devs ...*device) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, d := range devs {
			if d.log != nil {
				t.Logf("%s log:\n%s", d.name, tail(d.log.String(), 4000))
			}
		}
	})
}

// trustEachOther makes every device trust every other, with no address,
// and those in share share "docs".
func trustEachOther(devs []*device, share ...*device) {
	for _, d := range devs {
		for _, o := range devs {
			if o != d {
				d.ferry("device", "add", o.id, "--name", o.name)
			}
		}
	}
	for _, d := range share {
		for _, o := range share {
			if o != d {
				d.ferry("folder", "share", "docs", o.id)
			}
		}
	}
}

// viaOf is how d says it reaches the device id, and through which relay.
func viaOf(t *testing.T, d *device, id string) (via, relay string) {
	t.Helper()
	var s struct {
		Devices []struct {
			ID, Via, Relay string
			Connected      bool
		} `json:"devices"`
	}
	if err := json.Unmarshal([]byte(d.ferry("status", "--json")), &s); err != nil {
		t.Fatalf("%s: status --json: %v", d.name, err)
	}
	for _, x := range s.Devices {
		if x.ID == id && x.Connected {
			return x.Via, x.Relay
		}
	}
	return "", ""
}

// homeDevices makes two homes and a device with folder "docs" in each.
func homeDevices(t *testing.T, n *internet, mapping bool) (a, b *device) {
	t.Helper()
	a, b, _, _ = homesAndDevices(t, n, mapping)
	return a, b
}

// homesAndDevices is homeDevices that returns the homes too.
func homesAndDevices(t *testing.T, n *internet, mapping bool) (a, b *device, ha, hb *home) {
	t.Helper()
	ha = n.addHome("A", homeOptions{PortMapping: mapping})
	hb = n.addHome("B", homeOptions{PortMapping: mapping})
	a, b = n.device(t, "A", ha.ns), n.device(t, "B", hb.ns)
	for _, d := range []*device{a, b} {
		d.ferry("folder", "add", d.folder, "--id", "docs")
	}
	return a, b, ha, hb
}

// forwarded is what router h's miniupnpd forwards now, as nft lists it.
func forwarded(t *testing.T, h *home) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", h.router, "nft", "list", "chain", "inet", "filter", "prerouting_miniupnpd").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v: %s", err, out)
	}
	return string(out)
}

// Two daemons behind their own NAT routers, which run miniupnpd: each maps
// its sync port, announces it in the DHT, finds the other there, and they
// connect and sync both ways.
func TestInternetSyncThroughDHTAndMappedPorts(t *testing.T) {
	n := newInternet(t)
	a, b, ha, _ := homesAndDevices(t, n, true)
	logOnFailure(t, a, b)
	trustEachOther([]*device{a, b}, a, b)
	writeFile(t, a.path("from-a.txt"), []byte("across the internet"), 0o644)
	a.start()
	b.start()
	waitFor(t, 60*time.Second, "A and B connected", func() bool {
		va, _ := viaOf(t, a, b.id)
		vb, _ := viaOf(t, b, a.id)
		return va != "" && vb != ""
	})
	va, _ := viaOf(t, a, b.id)
	vb, _ := viaOf(t, b, a.id)
	if vias := []string{va, vb}; !slices.Contains(vias, "dht") || !slices.Contains(vias, "incoming") {
		t.Errorf("the connection came about via %q; want one side to say dht, the other incoming", vias)
	}
	for _, d := range []*device{a, b} {
		if r := reachOf(t, d); r.External == "" || r.Mapping == "" {
			t.Errorf("%s says no external address: %+v", d.name, r)
		}
	}
	waitFor(t, 30*time.Second, "from-a.txt on B", func() bool { return sameContent(b.path("from-a.txt"), []byte("across the internet")) })
	writeFile(t, b.path("from-b.txt"), []byte("and back"), 0o644)
	converge(t, 30*time.Second, a, b)

	// A clean stop removes the mapping from the router.
	if rules := forwarded(t, ha); !strings.Contains(rules, "22110") {
		t.Fatalf("A's router forwards nothing to port 22110:\n%s", rules)
	}
	a.stop()
	if rules := forwarded(t, ha); strings.Contains(rules, "22110") {
		t.Fatalf("A's router still forwards port 22110 after A stopped:\n%s", rules)
	}
}

// With port mapping off on both routers neither home can be reached, and
// the two connect through a third device on the internet that both trust:
// they sync, the relay forwards the bytes, and it never sees plaintext.
func TestInternetSyncThroughRelay(t *testing.T) {
	n := newInternet(t)
	a, b := homeDevices(t, n, false)
	p := n.addPublic("C")
	c := n.device(t, "C", p.ns)
	logOnFailure(t, a, b, c)
	trustEachOther([]*device{a, b, c}, a, b)
	// Content that is easy to look for and does not compress away.
	marker := []byte("ferry relay plaintext marker 51c0 ")
	content := bytes.Repeat(marker, 32<<10)
	writeFile(t, a.path("big.txt"), content, 0o644)
	c.start()
	a.start()
	b.start()
	waitFor(t, 90*time.Second, "A and B connected through C", func() bool {
		va, ra := viaOf(t, a, b.id)
		vb, rb := viaOf(t, b, a.id)
		return va == "relay" && vb == "relay" && ra == c.id && rb == c.id
	})
	waitFor(t, 60*time.Second, "big.txt on B", func() bool { return sameContent(b.path("big.txt"), content) })
	writeFile(t, b.path("reply.txt"), []byte("through the relay"), 0o644)
	converge(t, 60*time.Second, a, b)

	var st struct {
		Device struct {
			Relay struct {
				Streams   int
				Forwarded int64
			}
		}
	}
	if err := json.Unmarshal([]byte(c.ferry("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Device.Relay.Streams != 1 || st.Device.Relay.Forwarded < int64(len(content)) {
		t.Errorf("C relays %+v; want one stream and more than %d bytes forwarded", st.Device.Relay, len(content))
	}
	// C's own connections are to A and B, directly; it shares no folder,
	// and nothing it keeps holds the plaintext.
	for _, d := range []*device{a, b} {
		if via, _ := viaOf(t, c, d.id); via == "" || via == "relay" {
			t.Errorf("C reaches %s via %q", d.name, via)
		}
	}
	for _, root := range []string{c.home, c.folder} {
		filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				if data, _ := os.ReadFile(path); bytes.Contains(data, marker) {
					t.Errorf("C's %s holds plaintext of A's file", path)
				}
			}
			return nil
		})
	}
}

// Pairing by code between two homes with no LAN between them: B finds
// A's offer through the DHT, and the folder A offered syncs.
func TestInternetPairByCode(t *testing.T) {
	n := newInternet(t)
	ha := n.addHome("A", homeOptions{PortMapping: true})
	hb := n.addHome("B", homeOptions{PortMapping: true})
	a, b := n.device(t, "A", ha.ns), n.device(t, "B", hb.ns)
	logOnFailure(t, a, b)
	a.ferry("folder", "add", a.folder, "--id", "docs")
	writeFile(t, a.path("hello.txt"), []byte("paired across the internet"), 0o644)
	a.start()
	b.start()
	// A announces its offer at its mapped port: wait for the mapping.
	waitFor(t, 20*time.Second, "A's port mapped", func() bool { return reachOf(t, a).External != "" })
	code, done := offer(t, a, "--folder", "docs")
	into := filepath.Join(t.TempDir(), "synced")
	out, errOut, exit := b.try("pair", code, "--into", into)
	if exit != 0 || !strings.Contains(out, "Paired with "+a.id) {
		t.Fatalf("B's pair: exit %d\n%s%s", exit, out, errOut)
	}
	if end := waitPair(t, done); end.err != nil || !strings.Contains(end.stdout, "Paired with "+b.id) {
		t.Fatalf("A's pair: %v\n%s%s", end.err, end.stdout, end.stderr)
	}
	got := filepath.Join(into, "docs", "hello.txt")
	waitFor(t, 60*time.Second, "hello.txt on B", func() bool { return sameContent(got, []byte("paired across the internet")) })
}

// connectedIn reports whether a daemon's log says a device with ID id
// connected.
func connectedIn(log, id string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `msg="device connected"`) && strings.Contains(line, "device="+id[:7]+" ") {
			return true
		}
	}
	return false
}

// rssKiB is the peak resident memory of process pid, from /proc.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	kib, _ := strconv.Atoi(string(m[1]))
	return kib
}

// A hostile DHT: among the bootstrap nodes are nodes that send garbage,
// list thousands of peers for every key, or list hosts of the test bed,
// among them a stranger running ferry. The daemons stay up with bounded
// memory, trust no one new, and still find each other and sync.
func TestInternetDaemonsSurviveHostileDHT(t *testing.T) {
	n := newInternet(t)
	a, b := homeDevices(t, n, true)
	sp := n.addPublic("S")
	stranger := n.device(t, "S", sp.ns)
	foreign := n.foreignPeers(22110, 80)
	hostile := []string{
		n.addHostileDHT(hostileDHT{Garbage: true, Silent: true}),
		n.addHostileDHT(hostileDHT{Garbage: true, Values: manyPeers(5000)}),
		n.addHostileDHT(hostileDHT{Values: foreign}),
	}
	if !slices.Contains(foreign, netip.MustParseAddrPort(sp.addr.String()+":22110")) {
		t.Fatalf("the hostile nodes do not list the stranger: %v", foreign)
	}
	for _, d := range []*device{a, b} {
		i := slices.Index(d.serve, "--dht-bootstrap")
		d.serve[i+1] = strings.Join(hostile, ",") + "," + d.serve[i+1]
	}
	logOnFailure(t, a, b, stranger)
	trustEachOther([]*device{a, b}, a, b)
	stranger.start()
	a.start()
	b.start()
	writeFile(t, a.path("note.txt"), []byte("despite the liars"), 0o644)
	waitFor(t, 90*time.Second, "note.txt on B", func() bool { return sameContent(b.path("note.txt"), []byte("despite the liars")) })
	// Give the lookups time to dial what the liars listed.
	time.Sleep(5 * time.Second)
	for _, d := range []*device{a, b} {
		st := d.status()
		if len(st.Devices) != 1 {
			t.Errorf("%s trusts %d devices, want only the other", d.name, len(st.Devices))
		}
		for _, x := range st.Devices {
			if x.ID == stranger.id {
				t.Errorf("%s trusts the stranger", d.name)
			}
		}
		if kib := rssKiB(t, d.cmd.Process.Pid); kib > 200<<10 {
			t.Errorf("%s peaked at %d MiB", d.name, kib>>10)
		} else {
			t.Logf("%s peak RSS %d MiB", d.name, kib>>10)
		}
	}
	if connectedIn(a.log.String()+b.log.String(), stranger.id) {
		t.Error("a daemon connected to the stranger's key")
	}
	// The DHT library's own complaints about each malformed message do
	// not reach the log, which a stranger could otherwise fill.
	if logs := a.log.String() + b.log.String(); strings.Contains(logs, "bad krpc message") {
		t.Error("the daemon logged the hostile nodes' garbage message by message")
	}
}
