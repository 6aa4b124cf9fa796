//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ferry/discovery/portmap"
)

// The internet test bed: network namespaces that stand for the internet,
// home routers that NAT their LAN onto it (some with a real miniupnpd that
// maps ports by UPnP IGD and NAT-PMP), devices in those homes, devices on
// the internet itself, and a local Mainline DHT (internet_dht_test.go).
//
// The internet is one namespace holding a bridge. Every public address is
// in 198.18.0.0/15, the benchmark range, which is never routed outside;
// nothing in the test bed has a route to the host's networks either. The
// bridge itself holds the addresses of the servers the test process runs
// in the internet (STUN, DHT nodes): their sockets are opened from a thread
// that entered the namespace.
//
//	home device ──lan── router ──wan──┐
//	  10.x.k.2      10.x.k.1  198.18.y.z │ bridge (internet namespace):
//	public device ──────────────────────┤ STUN server, DHT nodes
//	  198.18.y.z                         ┘

// internet is the test bed. Its methods are called from the goroutine of
// the test that made it; what they make is removed when that test ends.
type internet struct {
	t       *testing.T
	tag     string // prefix of every namespace name
	ns      string // the internet: the namespace with the bridge
	subnet  string // the public /24, three octets
	lanNet  string // first two octets of the homes' private /24s
	host    int    // last host number handed out on the public /24
	homes   []*home
	publics []*public
	stun    [2]netip.Addr // the STUN server's two addresses; invalid until started
	dht     []string      // host:port of the local DHT's nodes; nil until started
}

// home is a home network: a router with a public address on the internet
// and a private LAN, and one device on that LAN whose default route is the
// router. The router forwards and masquerades LAN traffic to the internet
// and drops what the internet sends unasked, except ports miniupnpd maps.
type home struct {
	name    string
	router  string        // the router's namespace
	ns      string        // the home device's namespace
	wan     netip.Addr    // the router's public address
	gateway netip.Addr    // the router's LAN address
	addr    netip.Addr    // the home device's private address
	upnpd   *lockedBuffer // miniupnpd's log; nil when the router maps nothing
}

// homeOptions says what a home router does besides NAT.
type homeOptions struct {
	// PortMapping runs miniupnpd on the router, offering UPnP IGD and
	// NAT-PMP on the LAN.
	PortMapping bool
}

// public is a device with a public address on the internet, reachable by
// everyone (a relay, later).
type public struct {
	name string
	ns   string
	addr netip.Addr
}

// Ports of the test bed's servers.
const (
	stunPort    = 3478 // the STUN server's main port; it also answers from stunPort+1
	natpmpPort  = 5351
	dhtNodePort = 6881
)

// newInternet makes the internet namespace with its bridge, or skips the
// test where this machine cannot (not root): a physical reason. A missing
// tool is an install step undone (make test installs them), and fails.
func newInternet(t *testing.T) *internet {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	for _, tool := range [][2]string{{"ip", "iproute2"}, {"nft", "nftables"}, {"miniupnpd", "miniupnpd-nftables"}} {
		if _, err := exec.LookPath(tool[0]); err != nil {
			t.Fatalf("the internet test bed needs %s: apt-get install %s (make test does)", tool[0], tool[1])
		}
	}
	n := netnsSeq.Add(1)
	pid := os.Getpid()
	in := &internet{
		t:      t,
		tag:    fmt.Sprintf("fi%d-%d", pid%100000, n),
		subnet: fmt.Sprintf("198.%d.%d", 18+pid/256%2, (pid+int(n))%256),
		lanNet: fmt.Sprintf("10.%d", 100+pid%50),
		host:   1, // .1 is the bridge's own
	}
	in.ns = in.tag + "i"
	in.addNamespace(in.ns)
	in.ip("-n", in.ns, "link", "add", "br0", "type", "bridge")
	in.ip("-n", in.ns, "addr", "add", in.subnet+".1/24", "dev", "br0")
	in.ip("-n", in.ns, "link", "set", "br0", "up")
	in.sysctl(in.ns, "net.ipv4.ip_forward", "0") // no route between what the bridge joins
	return in
}

// addNamespace makes namespace ns with its loopback up, and deletes it
// when the test ends.
func (n *internet) addNamespace(ns string) {
	n.t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	n.ip("netns", "add", ns)
	n.ip("-n", ns, "link", "set", "lo", "up")
}

// ip runs the ip command with args and fails the test if it fails.
func (n *internet) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// sysctl sets a sysctl in namespace ns.
func (n *internet) sysctl(ns, key, value string) {
	n.t.Helper()
	n.ip("netns", "exec", ns, "sh", "-c", "echo "+value+" > /proc/sys/"+strings.ReplaceAll(key, ".", "/"))
}

// nextAddr hands out the next public address.
func (n *internet) nextAddr() netip.Addr {
	n.t.Helper()
	n.host++
	if n.host > 254 {
		n.t.Fatal("the internet's /24 is full")
	}
	return netip.MustParseAddr(fmt.Sprintf("%s.%d", n.subnet, n.host))
}

// bridgeAddrs adds count new public addresses to the bridge, for servers
// in the internet namespace, and returns them.
func (n *internet) bridgeAddrs(count int) []netip.Addr {
	n.t.Helper()
	addrs := make([]netip.Addr, count)
	var batch strings.Builder
	for i := range addrs {
		addrs[i] = n.nextAddr()
		fmt.Fprintf(&batch, "addr add %s/24 dev br0\n", addrs[i])
	}
	cmd := exec.Command("ip", "-n", n.ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("ip -batch in %s: %v: %s", n.ns, err, out)
	}
	return addrs
}

// plug makes a veth from namespace ns (named iface there) to a port of the
// bridge, and gives it addr with a default route via the bridge (which
// forwards nothing: the internet does not route private addresses).
func (n *internet) plug(ns, iface, port string, addr netip.Addr) {
	n.t.Helper()
	n.ip("link", "add", iface, "netns", ns, "type", "veth", "peer", "name", port, "netns", n.ns)
	n.ip("-n", n.ns, "link", "set", port, "master", "br0")
	n.ip("-n", n.ns, "link", "set", port, "up")
	n.ip("-n", ns, "addr", "add", addr.String()+"/24", "dev", iface)
	n.ip("-n", ns, "link", "set", iface, "up")
	n.ip("-n", ns, "route", "add", "default", "via", n.subnet+".1")
}

// addPublic makes a device on the internet with a public address of its
// own and no firewall.
func (n *internet) addPublic(name string) *public {
	n.t.Helper()
	p := &public{name: name, ns: fmt.Sprintf("%sp%d", n.tag, len(n.publics)+1), addr: n.nextAddr()}
	n.addNamespace(p.ns)
	n.plug(p.ns, "eth0", fmt.Sprintf("p%d", len(n.publics)+1), p.addr)
	n.publics = append(n.publics, p)
	return p
}

// addHome makes a home: a router namespace with a public WAN address and
// a LAN, and a home device namespace on the LAN. See home.
func (n *internet) addHome(name string, o homeOptions) *home {
	n.t.Helper()
	k := len(n.homes) + 1
	lan := fmt.Sprintf("%s.%d", n.lanNet, k)
	h := &home{
		name:    name,
		router:  fmt.Sprintf("%sr%d", n.tag, k),
		ns:      fmt.Sprintf("%sh%d", n.tag, k),
		wan:     n.nextAddr(),
		gateway: netip.MustParseAddr(lan + ".1"),
		addr:    netip.MustParseAddr(lan + ".2"),
	}
	n.homes = append(n.homes, h)
	n.addNamespace(h.router)
	n.addNamespace(h.ns)
	n.plug(h.router, "wan", fmt.Sprintf("r%d", k), h.wan)
	n.ip("link", "add", "lan", "netns", h.router, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
	n.ip("-n", h.router, "addr", "add", h.gateway.String()+"/24", "dev", "lan")
	n.ip("-n", h.router, "link", "set", "lan", "up")
	n.ip("-n", h.ns, "addr", "add", h.addr.String()+"/24", "dev", "eth0")
	n.ip("-n", h.ns, "link", "set", "eth0", "up")
	n.ip("-n", h.ns, "route", "add", "default", "via", h.gateway.String())
	n.sysctl(h.router, "net.ipv4.ip_forward", "1")
	if o.PortMapping {
		n.startSTUN()
	}
	n.firewall(h, lan+".0/24")
	if o.PortMapping {
		h.upnpd = n.startMiniupnpd(h, lan+".0/24")
	}
	return h
}

// routerRules is a home router's nftables ruleset: masquerade from the
// LAN, drop what arrives unasked on the WAN. The chains named *miniupnpd
// are where miniupnpd adds its forwarding rules and redirections; the
// router jumps to them whether or not it runs miniupnpd. STUN answers from
// the test bed's STUN server are let in: miniupnpd asks from ports it
// opens only in the forward chain, and refuses to map if they are lost.
const routerRules = `table inet filter {
	chain input {
		type filter hook input priority 0; policy drop;
		iifname "lo" accept
		ct state established,related accept
		iifname "lan" accept
		%s
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "lan" oifname "wan" accept
		jump miniupnpd
	}
	chain miniupnpd {
	}
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		jump postrouting_miniupnpd
		oifname "wan" ip saddr %s masquerade
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
}
`

// firewall loads the router's ruleset.
func (n *internet) firewall(h *home, lan string) {
	n.t.Helper()
	stun := ""
	if n.stun[0].IsValid() {
		stun = fmt.Sprintf(`iifname "wan" ip saddr { %s, %s } udp sport { %d, %d } accept`,
			n.stun[0], n.stun[1], stunPort, stunPort+1)
	}
	file := filepath.Join(n.t.TempDir(), "router.nft")
	writeFile(n.t, file, []byte(fmt.Sprintf(routerRules, stun, lan)), 0o644)
	n.ip("netns", "exec", h.router, "nft", "-f", file)
}

// miniupnpdConf configures miniupnpd for a home router. UPnP and NAT-PMP
// are offered on the LAN only; secure mode maps ports to the asking host
// alone; the allow rule admits the LAN and the deny rule everyone else.
//
// miniupnpd 2.3.1 refuses to map when the WAN address is private or
// reserved, which 198.18.0.0/15 is ("Reserved / private IP address ... Port
// forwarding is impossible"), and ext_ip= refuses it too; the option to
// allow it came in a later version. The way that works: STUN. miniupnpd
// asks the test bed's STUN server, which answers from the address and port
// asked for; all four answers arriving tells miniupnpd that nothing
// filters or translates its WAN, and it maps with the address STUN saw.
const miniupnpdConf = `ext_ifname=wan
listening_ip=lan
http_port=0
enable_upnp=yes
enable_natpmp=yes
secure_mode=yes
system_uptime=no
notify_interval=60
ext_perform_stun=yes
ext_stun_host=%s
ext_stun_port=%d
uuid=%s
upnp_table_name=filter
upnp_nat_table_name=filter
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 %s 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`

// startMiniupnpd runs miniupnpd in the foreground in h's router and waits
// until it serves with port forwarding on. It is killed by PID when the
// test ends.
func (n *internet) startMiniupnpd(h *home, lan string) *lockedBuffer {
	n.t.Helper()
	dir := n.t.TempDir()
	conf := filepath.Join(dir, "miniupnpd.conf")
	uuid := fmt.Sprintf("fe77e2e0-0000-4000-8000-%012d", os.Getpid()*1000+len(n.homes))
	writeFile(n.t, conf, []byte(fmt.Sprintf(miniupnpdConf, n.stun[0], stunPort, uuid, lan)), 0o644)
	log := &lockedBuffer{}
	cmd := exec.Command("ip", "netns", "exec", h.router, "miniupnpd", "-d", "-f", conf, "-P", filepath.Join(dir, "pid"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start miniupnpd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	n.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if n.t.Failed() {
			n.t.Logf("miniupnpd of %s:\n%s", h.name, tail(log.String(), 3000))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := log.String()
		if strings.Contains(s, "Listening for NAT-PMP") && strings.Contains(s, "Port forwarding is now enabled") {
			return log
		}
		select {
		case <-exited:
			n.t.Fatalf("miniupnpd of %s exited at start:\n%s", h.name, s)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("miniupnpd of %s did not enable port forwarding within 10 s:\n%s", h.name, s)
		}
	}
}

// startSTUN starts, once, the STUN server miniupnpd asks: it answers
// binding requests at stun[0]:stunPort from the address and port the
// request's CHANGE-REQUEST asks for (RFC 3489), with the request's source
// as the mapped address.
func (n *internet) startSTUN() {
	n.t.Helper()
	if n.stun[0].IsValid() {
		return
	}
	ips := n.bridgeAddrs(2)
	var conns [4]net.PacketConn // [ip*2+port]
	err := inNetns(n.ns, func() error {
		for i := range conns {
			c, err := net.ListenPacket("udp4", netip.AddrPortFrom(ips[i/2], uint16(stunPort+i%2)).String())
			if err != nil {
				return err
			}
			conns[i] = c
		}
		return nil
	})
	var wg sync.WaitGroup
	n.t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		wg.Wait()
	})
	if err != nil {
		n.t.Fatalf("STUN server: %v", err)
	}
	n.stun = [2]netip.Addr{ips[0], ips[1]}
	wg.Add(1)
	go func() { defer wg.Done(); serveSTUN(conns) }()
}

// serveSTUN answers the binding requests arriving on conns[0] until it is
// closed.
func serveSTUN(conns [4]net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		k, from, err := conns[0].ReadFrom(buf)
		if err != nil {
			return
		}
		req := buf[:k]
		if len(req) < 20 || binary.BigEndian.Uint16(req) != 0x0001 {
			continue
		}
		src, ok := from.(*net.UDPAddr)
		if !ok || src.IP.To4() == nil {
			continue
		}
		resp := make([]byte, 32)
		binary.BigEndian.PutUint16(resp[0:], 0x0101) // binding success
		binary.BigEndian.PutUint16(resp[2:], 12)
		copy(resp[4:20], req[4:20]) // magic cookie and transaction ID
		binary.BigEndian.PutUint16(resp[20:], 0x0001)
		binary.BigEndian.PutUint16(resp[22:], 8)
		resp[25] = 1 // IPv4
		binary.BigEndian.PutUint16(resp[26:], uint16(src.Port))
		copy(resp[28:], src.IP.To4())
		conns[stunChange(req[20:])].WriteTo(resp, from)
	}
}

// stunChange returns the index into the server's sockets that a request
// with attributes attrs asks to be answered from.
func stunChange(attrs []byte) int {
	for len(attrs) >= 4 {
		typ, size := binary.BigEndian.Uint16(attrs), int(binary.BigEndian.Uint16(attrs[2:]))
		if len(attrs) < 4+size {
			break
		}
		if typ == 0x0003 && size == 4 { // CHANGE-REQUEST
			f := attrs[7]
			i := 0
			if f&0x4 != 0 {
				i += 2
			}
			if f&0x2 != 0 {
				i++
			}
			return i
		}
		attrs = attrs[4+(size+3)&^3:]
	}
	return 0
}

// inNetns runs f on an OS thread of its own inside namespace ns. A socket
// stays in the namespace it was made in, so sockets f opens work there
// after it returns; but f must open them itself, not in goroutines it
// starts, which run on other threads. A thread that cannot get back out is
// not reused.
func inNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer home.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("leave %s: %w", ns, err))
			return // the thread stays locked and ends with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// greeter listens on TCP port in namespace ns until the test ends, and
// tells each caller who answered and whom it saw: "name saw ip:port".
func greeter(t *testing.T, ns, name string, port int) {
	t.Helper()
	var l net.Listener
	err := inNetns(ns, func() (err error) {
		l, err = net.Listen("tcp4", ":"+strconv.Itoa(port))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", ns, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s saw %s\n", name, c.RemoteAddr())
			c.Close()
		}
	}()
}

// greet calls a greeter at to from namespace ns and returns its greeting.
func greet(ns string, to netip.AddrPort, timeout time.Duration) (string, error) {
	var c net.Conn
	err := inNetns(ns, func() (err error) {
		c, err = net.DialTimeout("tcp4", to.String(), timeout)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// mustGreet calls the greeter at to from ns and checks that want answered
// and saw the caller at from.
func mustGreet(t *testing.T, ns string, to netip.AddrPort, want string, from netip.Addr) {
	t.Helper()
	got, err := greet(ns, to, 5*time.Second)
	if err != nil {
		t.Fatalf("from %s, call %v: %v", ns, to, err)
	}
	name, saw, _ := strings.Cut(got, " saw ")
	ap, perr := netip.ParseAddrPort(saw)
	if name != want || perr != nil || ap.Addr() != from {
		t.Fatalf("from %s, %v answered %q; want %s seeing the caller at %v", ns, to, got, want, from)
	}
}

// unreachable checks, all at once, that none of to answers a TCP call
// from namespace ns.
func unreachable(t *testing.T, ns string, to ...netip.AddrPort) {
	t.Helper()
	errs := make([]string, len(to))
	var wg sync.WaitGroup
	for i, ap := range to {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := greet(ns, ap, 500*time.Millisecond); err == nil {
				errs[i] = fmt.Sprintf("from %s, %v answered %q; want it unreachable", ns, ap, got)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
}

// portmapHelperEnv tells the test binary to run as a portmap client (see
// TestInternetPortmapHelper); its value is "protocol port".
const portmapHelperEnv = "FERRY_E2E_PORTMAP"

// mapped is a mapping a portmap client made.
type mapped struct {
	Protocol string
	External netip.AddrPort
	unmap    func(t *testing.T)
}

// portmapFrom runs ferry/discovery/portmap in h's home device, asking the
// router over protocol ("upnp" or "nat-pmp") to forward TCP port. The
// client is this test binary run in the namespace: portmap starts
// goroutines for its requests and reads the default route from
// /proc/net/route, which follows the process's main thread, so it cannot
// run on a thread that entered the namespace. Call unmap to have the
// client remove the mapping.
func portmapFrom(t *testing.T, h *home, protocol string, port int) mapped {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.ns, os.Args[0], "-test.run=^TestInternetPortmapHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", portmapHelperEnv, protocol, port))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	next := func(want string) []string {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					cmd.Wait()
					t.Fatalf("portmap client in %s ended before %q:\n%s", h.name, want, stderr.String())
				}
				f := strings.Fields(line)
				switch {
				case len(f) > 0 && f[0] == "portmap-error":
					t.Fatalf("portmap in %s over %s: %s", h.name, protocol, strings.TrimPrefix(line, "portmap-error "))
				case len(f) > 0 && f[0] == want:
					return f[1:]
				}
			case <-timeout:
				t.Fatalf("portmap client in %s said no %q within 30 s:\n%s", h.name, want, stderr.String())
			}
		}
	}
	f := next("portmap-mapped")
	if len(f) != 2 {
		t.Fatalf("portmap client: mapped %q", f)
	}
	ext, err := netip.ParseAddrPort(f[1])
	if err != nil {
		t.Fatalf("portmap client: mapped %q: %v", f, err)
	}
	return mapped{Protocol: f[0], External: ext, unmap: func(t *testing.T) {
		t.Helper()
		io.WriteString(stdin, "unmap\n")
		next("portmap-unmapped")
	}}
}

// TestInternetPortmapHelper is the portmap client of portmapFrom when
// the test binary runs with portmapHelperEnv set, and does nothing
// otherwise. It maps, prints "portmap-mapped protocol external", waits for
// a line on stdin, unmaps and prints "portmap-unmapped"; an error is
// printed as "portmap-error ...".
func TestInternetPortmapHelper(t *testing.T) {
	spec := os.Getenv(portmapHelperEnv)
	if spec == "" {
		return
	}
	protocol, p, _ := strings.Cut(spec, " ")
	port, err := strconv.Atoi(p)
	if err != nil {
		fmt.Printf("portmap-error bad spec %q\n", spec)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := portmap.Config{
		Port: port,
		// Discovery stays at its default of 2 s: below 2 s the SSDP
		// search always fails, as goupnp takes its MX from the whole
		// seconds left before the deadline, which round down to 0.
		DisableUPnP:   protocol != "upnp",
		DisableNATPMP: protocol != "nat-pmp",
	}
	m, err := portmap.Map(ctx, cfg)
	if err != nil {
		fmt.Printf("portmap-error %v\n", err)
		return
	}
	fmt.Printf("portmap-mapped %s %s\n", m.Protocol, m.External)
	bufio.NewReader(os.Stdin).ReadString('\n')
	if err := portmap.Unmap(ctx, m); err != nil {
		fmt.Printf("portmap-error %v\n", err)
		return
	}
	fmt.Println("portmap-unmapped")
}

// A device behind a router that runs miniupnpd maps its port with
// ferry/discovery/portmap, over UPnP IGD and over NAT-PMP: the internet
// reaches it at the router's public address while the mapping lasts, and
// not after it is removed.
func TestInternetRouterMapsPort(t *testing.T) {
	n := newInternet(t)
	p := n.addPublic("P")
	homes := map[string]*home{
		"upnp":    n.addHome("U", homeOptions{PortMapping: true}),
		"nat-pmp": n.addHome("N", homeOptions{PortMapping: true}),
	}
	const port = 22110
	for protocol, h := range homes {
		greeter(t, h.ns, h.name, port)
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			before := netip.AddrPortFrom(h.wan, port)
			unreachable(t, p.ns, before)
			m := portmapFrom(t, h, protocol, port)
			if m.Protocol != protocol || m.External.Addr() != h.wan {
				t.Fatalf("mapped over %s at %v; want over %s at the router's %v", m.Protocol, m.External, protocol, h.wan)
			}
			mustGreet(t, p.ns, m.External, h.name, p.addr)
			m.unmap(t)
			unreachable(t, p.ns, m.External)
		})
	}
}

// Without a mapping, the internet does not reach a home device, whether
// or not its router could map; homes do not reach each other's private
// addresses; and a home device reaches the internet from its router's
// public address.
func TestInternetHomesUnreachable(t *testing.T) {
	n := newInternet(t)
	p := n.addPublic("P")
	a := n.addHome("A", homeOptions{PortMapping: true})
	b := n.addHome("B", homeOptions{})
	const port = 22110
	for _, g := range []struct{ ns, name string }{{p.ns, p.name}, {a.ns, a.name}, {b.ns, b.name}, {a.router, "routerA"}} {
		greeter(t, g.ns, g.name, port)
	}
	at := func(a netip.Addr) netip.AddrPort { return netip.AddrPortFrom(a, port) }

	mustGreet(t, a.ns, at(p.addr), p.name, a.wan)
	mustGreet(t, b.ns, at(p.addr), p.name, b.wan)
	mustGreet(t, a.ns, at(a.gateway), "routerA", a.addr)
	unreachable(t, p.ns, at(a.wan), at(b.wan), at(a.addr), at(b.addr))
	unreachable(t, a.ns, at(b.addr), at(b.wan))
	unreachable(t, b.ns, at(a.addr), at(a.wan), at(a.gateway))

	// The router offers port mapping on its LAN only.
	err := inNetns(p.ns, func() error {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.wan, natpmpPort)))
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write([]byte{0, 0}) // NAT-PMP: external address?
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 64)
		if k, err := c.Read(buf); err == nil {
			return fmt.Errorf("the router answered NAT-PMP from the internet: %x", buf[:k])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
