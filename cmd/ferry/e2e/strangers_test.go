package e2e

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ferry/proto/noise"
)

// floodEnv makes the test binary flood the daemon at the address it holds
// (host:port of its sync listener) instead of running tests; the flood's
// other settings come in floodEnv_* variables.
const floodEnv = "FERRY_E2E_FLOOD"

// floodCounts is what a flood did.
type floodCounts struct {
	Idle, Garbage, Handshakes, Openings, Packets int64
	IdleHeld                                     int64 // idle connections open at the end
}

// strangerFlood sends, for the configured time: thousands of idle
// connections, connections of garbage, handshakes with fresh keys, pairing
// openings with the offer number and random bytes, and LAN packets, valid
// and not.
func strangerFlood(target string) int {
	secs, _ := strconv.Atoi(os.Getenv(floodEnv + "_SECS"))
	offer, _ := strconv.ParseUint(os.Getenv(floodEnv+"_OFFER"), 10, 32)
	udpTarget := os.Getenv(floodEnv + "_UDP")
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	var c floodCounts
	var wg sync.WaitGroup
	dial := func() net.Conn {
		nc, err := net.DialTimeout("tcp", target, 2*time.Second)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			return nil
		}
		return nc
	}
	// Idle connections: opened and held, reopened when the daemon drops them.
	var idle sync.Map
	var held atomic.Int64
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if held.Load() >= 3000 {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				nc := dial()
				if nc == nil {
					continue
				}
				atomic.AddInt64(&c.Idle, 1)
				held.Add(1)
				idle.Store(nc, true)
				go func() {
					nc.SetReadDeadline(deadline)
					nc.Read(make([]byte, 1))
					held.Add(-1)
					idle.Delete(nc)
					nc.Close()
				}()
			}
		})
	}
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	// connections runs do on a fresh connection, from two goroutines, until
	// the deadline, counting each in n.
	connections := func(n *int64, do func(nc net.Conn)) {
		for range 2 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					if nc := dial(); nc != nil {
						do(nc)
						nc.Close()
						atomic.AddInt64(n, 1)
					}
				}
			})
		}
	}
	connections(&c.Garbage, func(nc net.Conn) {
		nc.SetDeadline(time.Now().Add(time.Second))
		nc.Write(garbage)
	})
	connections(&c.Handshakes, func(nc net.Conn) {
		key, _ := noise.GenerateKeypair(rand.Reader)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if sc, err := noise.Client(ctx, nc, key, nil); err == nil {
			sc.SetReadDeadline(time.Now().Add(time.Second))
			sc.Read(make([]byte, 64))
		}
	})
	connections(&c.Openings, func(nc net.Conn) {
		// A joiner's opening: kind, length, magic, version, offer number,
		// then a CPace message of random bytes.
		body := append([]byte("ferry-pair"), 1)
		body = binary.BigEndian.AppendUint32(body, uint32(offer))
		cp := make([]byte, 48)
		rand.Read(cp)
		body = append(body, cp...)
		frame := append([]byte{1, byte(len(body) >> 8), byte(len(body))}, body...)
		nc.SetDeadline(time.Now().Add(2 * time.Second))
		nc.Write(frame)
		nc.Read(make([]byte, 256))
		nc.Write(garbage[:512])
		nc.Read(make([]byte, 256))
	})
	if udpTarget != "" {
		wg.Go(func() {
			ua, err := net.ResolveUDPAddr("udp", udpTarget)
			if err != nil {
				return
			}
			uc, err := net.ListenUDP("udp", nil)
			if err != nil {
				return
			}
			defer uc.Close()
			pkt := make([]byte, 1024)
			for i := 0; time.Now().Before(deadline); i++ {
				if i%2 == 0 {
					// An announcement of a new device each time.
					b := binary.BigEndian.AppendUint32(nil, 0x66657279)
					b = append(b, 1)
					id := make([]byte, 32)
					rand.Read(id)
					b = append(b, id...)
					b = append(b, 1, 0x56, 0x5e, 1)
					b = binary.BigEndian.AppendUint32(b, uint32(i))
					uc.WriteToUDP(b, ua)
				} else {
					rand.Read(pkt[:64])
					uc.WriteToUDP(pkt[:64+i%960], ua)
				}
				atomic.AddInt64(&c.Packets, 1)
				if i%64 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	c.IdleHeld = held.Load()
	idle.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	json.NewEncoder(os.Stdout).Encode(c)
	return 0
}

// TestStrangers floods daemon A from B's network with idle and garbage
// connections, handshakes of unknown keys, pairing openings and LAN
// packets. Meanwhile B, a trusted device, keeps syncing with A, A's API
// answers, A's memory and descriptors stay bounded, its list of unknown
// devices stays short, and the pairing offer A shows survives.
func TestStrangers(t *testing.T) {
	l := newLANPair(t)
	a, b := l.device(t, "A", 0), l.device(t, "B", 1)
	for i, d := range []*device{a, b} {
		d.ferry("folder", "add", d.folder, "--id", "docs")
		other := []*device{b, a}[i]
		d.ferry("device", "add", other.id, "--name", other.name, "--addr", l.addrs[1-i]+":22110")
		d.ferry("folder", "share", "docs", other.id)
	}
	a.start()
	b.start()
	syncs := 0
	honestSync := func(within time.Duration) time.Duration {
		t.Helper()
		syncs++
		name := fmt.Sprintf("b-%d.txt", syncs)
		start := time.Now()
		writeFile(t, b.path(name), []byte(name), 0o644)
		waitFor(t, within, name+" on A", func() bool { return sameContent(a.path(name), []byte(name)) })
		return time.Since(start)
	}
	honestSync(20 * time.Second)
	code, pairDone := offer(t, a)
	number, _, _ := strings.Cut(code, "-")
	pid := a.cmd.Process.Pid
	base, baseFDs := vmHWM(t, pid), openFDs(t, pid)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const floodSecs = 15
	flood := exec.Command("ip", "netns", "exec", l.ns[1], self)
	flood.Env = append(os.Environ(), floodEnv+"="+l.addrs[0]+":22110", floodEnv+"_SECS="+strconv.Itoa(floodSecs),
		floodEnv+"_OFFER="+number, floodEnv+"_UDP="+l.addrs[0]+":21025")
	var floodOut strings.Builder
	flood.Stdout = &floodOut
	flood.Stderr = os.Stderr
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	floodDone := make(chan error, 1)
	go func() { floodDone <- flood.Wait() }()
	t.Cleanup(func() { flood.Process.Kill() })

	// While the flood runs: B's changes reach A, and A's API answers.
	var worstSync, worstAPI time.Duration
	maxFDs := 0
	for end := time.Now().Add(floodSecs * time.Second); time.Now().Before(end); {
		worstSync = max(worstSync, honestSync(15*time.Second))
		start := time.Now()
		if _, errOut, code := a.try("status", "--json"); code != 0 {
			t.Fatalf("A's API does not answer under the flood: %s", errOut)
		}
		worstAPI = max(worstAPI, time.Since(start))
		maxFDs = max(maxFDs, openFDs(t, pid))
	}
	select {
	case err := <-floodDone:
		if err != nil {
			t.Fatalf("flood: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the flood did not end")
	}
	var counts floodCounts
	if err := json.Unmarshal([]byte(floodOut.String()), &counts); err != nil {
		t.Fatalf("flood output %q: %v", floodOut.String(), err)
	}
	peak := vmHWM(t, pid)
	st := a.status()
	t.Logf("flood: %+v", counts)
	t.Logf("A under the flood: slowest sync from B %v, slowest API answer %v, descriptors %d (before %d, most %d), peak RSS %d MiB (before %d MiB), pending devices %d",
		worstSync.Round(time.Millisecond), worstAPI.Round(time.Millisecond), openFDs(t, pid), baseFDs, maxFDs, peak>>20, base>>20, len(st.Pending))
	if counts.Idle < 1000 || counts.Garbage < 100 || counts.Handshakes < 50 || counts.Openings < 50 || counts.Packets < 10000 {
		t.Errorf("the flood was too weak to prove anything: %+v", counts)
	}
	if peak > base+200<<20 {
		t.Errorf("A's peak RSS grew by %d MiB under the flood; want at most 200", (peak-base)>>20)
	}
	if maxFDs > baseFDs+400 {
		t.Errorf("A held %d descriptors under the flood (%d before)", maxFDs, baseFDs)
	}
	if len(st.Pending) > 32 {
		t.Errorf("A lists %d unknown devices", len(st.Pending))
	}
	// The offer is still there for the real joiner: openings with random
	// bytes prove nothing about the code and must not burn it.
	select {
	case end := <-pairDone:
		t.Errorf("A's pairing offer ended under the flood: %v\n%s%s", end.err, end.stdout, end.stderr)
	default:
	}
	honestSync(15 * time.Second)
	if n := openFDs(t, pid); n > baseFDs+20 {
		t.Errorf("A holds %d descriptors after the flood (%d before)", n, baseFDs)
	}
}
