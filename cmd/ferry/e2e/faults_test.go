//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The faults suite: real daemons killed with SIGKILL in the middle of a
// sync, links that lose, delay, throttle and cut packets, and a file that
// grows while it is sent. After each fault nothing but whole files may be
// visible, and in the end the devices hold the same trees. (The file is
// somewhat over the usual size: it keeps the suite, its checkers and the
// network wire it alone uses together.)

// faultSeed is the seed of every random choice in this file, logged so a
// failing run can be replayed.
const faultSeed = 20260426

// sourceFile is what a file of a generated tree holds. The content is
// kept rather than a hash of it: comparing is cheaper than hashing, even
// under the race detector.
type sourceFile struct {
	size int64
	data []byte
}

// sourceTree is a generated tree: its files and the directories that hold
// them.
type sourceTree struct {
	files map[string]sourceFile
	dirs  map[string]bool
	bytes int64
}

// makeSourceTree writes small files of 1 KiB to 512 KiB (log-uniform) and
// large files of large bytes each under root, all random content, and
// returns what each holds.
func makeSourceTree(t testing.TB, root string, seed uint64, small, large int, largeSize int) sourceTree {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed>>3))
	tree := sourceTree{files: map[string]sourceFile{}, dirs: map[string]bool{}}
	add := func(name string, data []byte) {
		writeFile(t, filepath.Join(root, filepath.FromSlash(name)), data, 0o644)
		tree.files[name] = sourceFile{size: int64(len(data)), data: data}
		tree.bytes += int64(len(data))
		for dir := filepath.ToSlash(filepath.Dir(name)); dir != "."; dir = filepath.ToSlash(filepath.Dir(dir)) {
			tree.dirs[dir] = true
		}
	}
	for i := range small {
		size := int(1024 * math.Pow(512, rng.Float64()))
		add(fmt.Sprintf("docs/d%02d/f%04d.dat", i%23, i), chachaBytes(seed+uint64(i), size))
	}
	for i := range large {
		size := largeSize/2 + rng.IntN(largeSize)
		add(fmt.Sprintf("media/m%d/big%02d.bin", i%3, i), chachaBytes(seed+1_000_000+uint64(i), size))
	}
	return tree
}

// fileStamp tells whether a file was changed since it was last checked.
type fileStamp struct {
	ino, size    int64
	mtime, ctime syscall.Timespec
}

func stampOf(fi fs.FileInfo) fileStamp {
	st := fi.Sys().(*syscall.Stat_t)
	return fileStamp{ino: int64(st.Ino), size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

// wholeChecker checks that a receiver's folder shows only whole files of a
// source tree. Files that were whole and have not changed since are not
// read again.
type wholeChecker struct {
	tree sourceTree
	seen map[string]fileStamp
	buf  []byte
}

func newWholeChecker(tree sourceTree) *wholeChecker {
	return &wholeChecker{tree: tree, seen: map[string]fileStamp{}}
}

// check walks root and returns each thing wrong with it, and the bytes of
// whole files it holds.
func (c *wholeChecker) check(root string) (problems []string, whole int64) {
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // gone while walked: a temp file renamed away
			}
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if strings.HasPrefix(de.Name(), ".ferry") {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		problem, n := c.checkEntry(p, rel, fi)
		if problem != "" {
			problems = append(problems, problem)
		}
		whole += n
		return nil
	})
	if err != nil {
		problems = append(problems, fmt.Sprintf("walk %s: %v", root, err))
	}
	return problems, whole
}

func (c *wholeChecker) checkEntry(p, rel string, fi fs.FileInfo) (problem string, whole int64) {
	switch {
	case fi.IsDir():
		if !c.tree.dirs[rel] {
			return rel + ": a directory that is not in the source", 0
		}
		return "", 0
	case !fi.Mode().IsRegular():
		return fmt.Sprintf("%s: a %v that is not in the source", rel, fi.Mode().Type()), 0
	}
	want, ok := c.tree.files[rel]
	if !ok {
		return rel + ": a file that is not in the source", 0
	}
	stamp := stampOf(fi)
	if c.seen[rel] == stamp {
		return "", want.size
	}
	if same, err := c.holds(p, want.data); err != nil {
		return fmt.Sprintf("%s: read: %v", rel, err), 0
	} else if !same {
		return fmt.Sprintf("%s: %d bytes that are not the source's %d", rel, fi.Size(), want.size), 0
	}
	c.seen[rel] = stamp
	return "", want.size
}

// holds reports whether the file at p holds exactly want. It reads through
// one reused buffer: under the race detector every new large buffer costs
// far more than the reading.
func (c *wholeChecker) holds(p string, want []byte) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if c.buf == nil {
		c.buf = make([]byte, 1<<20)
	}
	off := 0
	for {
		n, err := f.Read(c.buf)
		if n > len(want)-off || !bytes.Equal(c.buf[:n], want[off:off+n]) {
			return false, nil
		}
		off += n
		if err == io.EOF {
			return off == len(want), nil
		}
		if err != nil {
			return false, err
		}
	}
}

// complete reports whether root shows every file of the tree at its size,
// without reading them.
func (c *wholeChecker) complete(root string) bool {
	for name, f := range c.tree.files {
		if fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(name))); err != nil || fi.Size() != f.size {
			return false
		}
	}
	return true
}

// tempFiles counts ferry's temp files under root and their bytes.
func tempFiles(t *testing.T, root string) (n int, size int64) {
	t.Helper()
	for _, name := range strayNames(t, root, ".ferry-tmp-") {
		if fi, err := os.Lstat(filepath.Join(root, name)); err == nil {
			n++
			size += fi.Size()
		}
	}
	return n, size
}

// restartAfterKill starts d again on its home after a SIGKILL and checks
// that its index opened as it was: the API answers, the folder is not in
// error, and the log does not say the index had to be rebuilt.
func restartAfterKill(t *testing.T, d *device) {
	t.Helper()
	d.start()
	for _, f := range d.status().Folders {
		if f.State == "error" {
			t.Fatalf("%s after a kill: folder %s is in error: %q", d.name, f.ID, f.Errors)
		}
	}
	if l := d.log.String(); strings.Contains(l, "the index was damaged") || strings.Contains(l, "the index is missing") {
		t.Fatalf("%s after a kill: the index did not open:\n%s", d.name, tail(l, 2000))
	}
}

// Devices killed with SIGKILL at random moments of a large sync, sender
// and receiver alike, and started again on the same home: after every kill
// the receiver shows only whole files of the source, each restart opens
// the index, and every sync ends with identical trees. Each run syncs the
// tree to a new receiver, so that several kills fall into each sync.
func TestFaultKillNineDuringSync(t *testing.T) {
	const wantTrials, budget = 30, 100 * time.Second
	start := time.Now()
	t.Logf("seed %d", faultSeed)
	k := &killRuns{rng: rand.New(rand.NewPCG(faultSeed, 9)), a: newDevice(t, "A")}
	k.tree = makeSourceTree(t, k.a.folder, faultSeed, 300, 14, 8<<20)
	k.aCheck = newWholeChecker(k.tree)
	t.Logf("source: %d files, %d MiB, written in %v", len(k.tree.files), k.tree.bytes>>20, time.Since(start))
	k.a.start()
	for run := 0; k.trials < wantTrials; run++ {
		if time.Since(start) > budget {
			t.Fatalf("only %d kills during a sync within %v", k.trials, budget)
		}
		k.run(t, run, wantTrials)
	}
	t.Logf("%d kills during a sync in %v; %d temp files (%d MiB) on the receivers when they converged, then removed",
		k.trials, time.Since(start), k.leftFiles, k.leftBytes>>20)
}

// killRuns is the state of TestFaultKillNineDuringSync across its runs.
type killRuns struct {
	rng       *rand.Rand
	a         *device // the sender, for all runs
	aCheck    *wholeChecker
	tree      sourceTree
	trials    int
	leftFiles int
	leftBytes int64
}

// run syncs the tree to a new receiver, killing one side or the other at
// random moments until the sync is over or there have been want kills in
// all, then waits for the sync to end and checks both trees.
func (k *killRuns) run(t *testing.T, run, want int) {
	a := k.a
	b := newDevice(t, fmt.Sprintf("B%d", run))
	pair(a, b)
	b.start()
	check := newWholeChecker(k.tree)
	runStart, kills := time.Now(), 0
	for k.trials < want {
		time.Sleep(time.Duration(20+k.rng.IntN(600)) * time.Millisecond)
		if check.complete(b.folder) {
			break // this sync is over
		}
		victim := a
		if k.rng.IntN(2) == 1 {
			victim = b
		}
		victim.kill()
		k.trials++
		kills++
		whole := checkWhole(t, check, b, "after killing "+victim.name)
		t.Logf("run %d: kill %d of %s with %d of %d MiB whole on %s", run, kills, victim.name, whole>>20, k.tree.bytes>>20, b.name)
		restartAfterKill(t, victim)
	}
	k.converge(t, b, check)
	// A kill leaves temps of pulls that did not finish, some for versions
	// no one pulls again (a receiver killed after renaming pulled files but
	// before its index recorded them adopts the copies under a new
	// version): once nothing is left to pull they are removed.
	n, size := tempFiles(t, b.folder)
	k.leftFiles += n
	k.leftBytes += size
	waitFor(t, 10*time.Second, b.name+" without temp files", func() bool {
		m, _ := tempFiles(t, b.folder)
		return m == 0
	})
	t.Logf("run %d: %d kills, converged after %v; %d temp files (%d KiB) on %s then", run, kills, time.Since(runStart), n, size>>10, b.name)
	b.stop()
	os.RemoveAll(b.folder)
}

// converge waits until both devices are in sync and hold the source tree,
// with the same modes and modification times. It does what the harness's
// converge does, reading each file only once.
func (k *killRuns) converge(t *testing.T, b *device, check *wholeChecker) {
	t.Helper()
	var diff string
	waitFor(t, time.Minute, "A and "+b.name+" to hold the source tree", func() bool {
		k.a.ferry("scan", "docs")
		b.ferry("scan", "docs")
		diff = ""
		if whole := checkWhole(t, check, b, "while converging"); whole != k.tree.bytes {
			diff = fmt.Sprintf("%s holds %d of %d bytes", b.name, whole, k.tree.bytes)
		} else if whole := checkWhole(t, k.aCheck, k.a, "while converging"); whole != k.tree.bytes {
			diff = fmt.Sprintf("A holds %d of %d bytes", whole, k.tree.bytes)
		} else if diff = sameMeta(k.tree, k.a.folder, b.folder); diff == "" && !allInSync([]*device{k.a, b}) {
			diff = "not in sync"
		}
		return diff == ""
	})
}

// sameMeta describes the first file or directory of tree whose mode or
// (for a file) modification time differs between the roots.
func sameMeta(tree sourceTree, root1, root2 string) string {
	names := slices.Collect(maps.Keys(tree.files))
	for dir := range tree.dirs {
		names = append(names, dir)
	}
	for _, name := range names {
		fi1, err1 := os.Lstat(filepath.Join(root1, filepath.FromSlash(name)))
		fi2, err2 := os.Lstat(filepath.Join(root2, filepath.FromSlash(name)))
		switch {
		case err1 != nil || err2 != nil:
			return fmt.Sprintf("%s: %v, %v", name, err1, err2)
		case fi1.Mode() != fi2.Mode():
			return fmt.Sprintf("%s: mode %v and %v", name, fi1.Mode(), fi2.Mode())
		case !fi1.IsDir() && !fi1.ModTime().Equal(fi2.ModTime()):
			return fmt.Sprintf("%s: modified %v and %v", name, fi1.ModTime(), fi2.ModTime())
		}
	}
	return ""
}

// checkWhole fails the test if d's folder shows anything but whole files
// of the source, and returns the bytes of those it holds.
func checkWhole(t *testing.T, c *wholeChecker, d *device, when string) int64 {
	t.Helper()
	problems, whole := c.check(d.folder)
	if len(problems) > 0 {
		t.Fatalf("%s %s: %d problems, first: %s", d.name, when, len(problems), strings.Join(problems[:min(5, len(problems))], "; "))
	}
	return whole
}

// wiredPair is two network namespaces, each with one device's end of a
// veth pair, whose other ends sit in a third namespace where a wire joins
// them: a program that forwards every Ethernet frame from one side to the
// other, losing, delaying or cutting them as told. The kernel here has no
// netem qdisc (CONFIG_NET_SCH_NETEM is off and modules are not loadable),
// so the wire does what netem would; rates are set with the kernel's tbf
// qdisc on each device's interface.
type wiredPair struct {
	lan    lanPair
	mid    string
	ifaces [2]string // each device's interface, in its namespace
	wire   [2]*wireDir
}

// newWiredPair makes the namespaces and starts the wire; seed drives its
// losses.
func newWiredPair(t *testing.T, seed uint64) *wiredPair {
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
	w := &wiredPair{
		lan: lanPair{ns: [2]string{tag + "a", tag + "b"}, addrs: [2]string{subnet + ".1", subnet + ".2"}},
		mid: tag + "m", ifaces: [2]string{"v" + tag + "a", "v" + tag + "b"},
	}
	mids := [2]string{"m" + tag + "a", "m" + tag + "b"}
	t.Cleanup(func() {
		for _, ns := range []string{w.lan.ns[0], w.lan.ns[1], w.mid} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	for _, s := range w.steps(mids) {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	w.start(t, seed, openWireEnds(t, w.mid, mids))
	return w
}

// steps are the ip commands that make the namespaces and links; mids are
// the names of the wire's interfaces.
func (w *wiredPair) steps(mids [2]string) [][]string {
	steps := [][]string{{"netns", "add", w.mid}, {"-n", w.mid, "link", "set", "lo", "up"}}
	for i, ns := range w.lan.ns {
		v := w.ifaces[i]
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"link", "add", v, "netns", ns, "type", "veth", "peer", "name", mids[i], "netns", w.mid},
			[]string{"-n", ns, "link", "set", "lo", "up"},
			// One segment per frame: the wire loses and delays packets,
			// not 64 KiB bursts of them.
			[]string{"-n", ns, "link", "set", v, "gso_max_segs", "1"},
			[]string{"-n", ns, "addr", "add", w.lan.addrs[i] + "/24", "dev", v},
			[]string{"-n", ns, "link", "set", v, "up"},
			[]string{"-n", w.mid, "link", "set", mids[i], "up"},
		)
	}
	return steps
}

// start runs both directions of the wire between ends until the test ends.
func (w *wiredPair) start(t *testing.T, seed uint64, ends [2]*os.File) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		w.wire[i] = &wireDir{name: [2]string{"A->B", "B->A"}[i], rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		wg.Add(1)
		go func() { defer wg.Done(); w.wire[i].run(ctx, ends[i], ends[1-i]) }()
	}
	t.Cleanup(func() {
		cancel()
		for _, f := range ends {
			f.Close()
		}
		wg.Wait()
		for _, d := range w.wire {
			t.Logf("wire %s: %s", d.name, d.counts())
		}
	})
}

// openWireEnds opens a packet socket on each of ifaces in namespace ns. A
// socket stays in the namespace it was made in, so only the thread that
// makes them enters ns; a thread that cannot get back is not reused.
func openWireEnds(t *testing.T, ns string, ifaces [2]string) [2]*os.File {
	t.Helper()
	type result struct {
		files [2]*os.File
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		var r result
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer home.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("enter %s: %w", ns, err)}
			return
		}
		for i, name := range ifaces {
			if r.files[i], err = packetSocket(name); err != nil {
				r.err = err
				break
			}
		}
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			r.err = errors.Join(r.err, fmt.Errorf("leave %s: %w", ns, err))
			ch <- r
			return // the thread stays locked and ends with this goroutine
		}
		runtime.UnlockOSThread()
		ch <- r
	}()
	r := <-ch
	if r.err != nil {
		for _, f := range r.files {
			if f != nil {
				f.Close()
			}
		}
		t.Fatalf("wire in %s: %v", ns, r.err)
	}
	return r.files
}

// packetSocket opens a raw packet socket bound to iface that reads the
// frames arriving there (not those it sends) with their virtio-net header,
// which carries the checksum state of a frame that left a veth without a
// finished checksum.
func packetSocket(iface string) (*os.File, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, err
	}
	all := int(htons(unix.ETH_P_ALL))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, all)
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	for _, o := range [][3]int{
		{unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1},
		{unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8 << 20},
	} {
		if err := unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("packet socket option %d: %w", o[1], err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(all), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind packet socket to %s: %w", iface, err)
	}
	return os.NewFile(uintptr(fd), iface), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// wireDir is one direction of the wire.
type wireDir struct {
	name string
	rng  *rand.Rand // used by run's reader only

	mu    sync.Mutex
	loss  float64       // chance that a frame is lost
	delay time.Duration // added to every frame
	cut   bool          // every frame is lost

	passed, lost, overflow atomic.Int64
}

// set changes how the wire treats the frames that arrive from now on.
func (w *wireDir) set(loss float64, delay time.Duration, cut bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.loss, w.delay, w.cut = loss, delay, cut
}

func (w *wireDir) counts() string {
	return fmt.Sprintf("%d frames passed, %d lost, %d dropped for a full line", w.passed.Load(), w.lost.Load(), w.overflow.Load())
}

type wireFrame struct {
	data []byte
	due  time.Time
}

// run forwards frames from in to out until ctx ends and in is closed. A
// frame waits in a line of at most 4096 frames until it is due; frames
// are sent in the order they arrived.
func (w *wireDir) run(ctx context.Context, in, out *os.File) {
	line := make(chan wireFrame, 4096)
	sent := make(chan struct{})
	go func() { defer close(sent); w.send(ctx, line, out) }()
	defer func() { <-sent }()
	buf := make([]byte, 1<<17)
	for {
		n, err := in.Read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		w.mu.Lock()
		lose := w.cut || w.loss > 0 && w.rng.Float64() < w.loss
		delay := w.delay
		w.mu.Unlock()
		if lose {
			w.lost.Add(1)
			continue
		}
		select {
		case line <- wireFrame{data: bytes.Clone(buf[:n]), due: time.Now().Add(delay)}:
		default:
			w.overflow.Add(1)
		}
	}
}

// send writes each frame of line to out once it is due, until ctx ends.
func (w *wireDir) send(ctx context.Context, line <-chan wireFrame, out *os.File) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var f wireFrame
		select {
		case <-ctx.Done():
			return
		case f = <-line:
		}
		if wait := time.Until(f.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if _, err := out.Write(f.data); err == nil {
			w.passed.Add(1)
		}
	}
}

// devices makes a device in each namespace with the folder "docs", trusting
// and sharing with the other at its address.
func (w *wiredPair) devices(t *testing.T) (a, b *device) {
	t.Helper()
	a, b = w.lan.device(t, "A", 0), w.lan.device(t, "B", 1)
	for _, d := range []*device{a, b} {
		d.ferry("folder", "add", d.folder, "--id", "docs")
	}
	a.ferry("device", "add", b.id, "--name", "B", "--addr", w.lan.addrs[1]+":22110")
	b.ferry("device", "add", a.id, "--name", "A", "--addr", w.lan.addrs[0]+":22110")
	a.ferry("folder", "share", "docs", b.id)
	b.ferry("folder", "share", "docs", a.id)
	t.Cleanup(func() {
		if t.Failed() {
			dumpAndStop(t, a, b)
		}
	})
	return a, b
}

// rate limits what each device sends to rate (tc's notation, e.g. 1mbit)
// with the kernel's token bucket filter.
func (w *wiredPair) rate(t *testing.T, rate string) {
	t.Helper()
	for i, ns := range w.lan.ns {
		args := []string{"-n", ns, "qdisc", "add", "dev", w.ifaces[i], "root", "tbf", "rate", rate, "burst", "16kb", "latency", "200ms"}
		if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
			t.Fatalf("tc %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

// set makes both directions of the wire lose and delay frames, or cut them.
func (w *wiredPair) set(loss float64, delay time.Duration, cut bool) {
	for _, d := range w.wire {
		d.set(loss, delay, cut)
	}
}

// writeFlat writes n files of size random bytes under dir on d and returns
// their total size.
func writeFlat(t *testing.T, d *device, dir string, seed uint64, n, size int) int64 {
	t.Helper()
	for i := range n {
		writeFile(t, d.path(fmt.Sprintf("%s/f%02d.bin", dir, i)), chachaBytes(seed+uint64(i), size), 0o644)
	}
	return int64(n * size)
}

// Syncs over bad links between two namespaces: lossy and slow to answer
// (both ways, as netem on each end would make it), narrow, and cut for a
// while in the middle of a sync. Each one completes with the same tree on
// both devices.
func TestFaultNetem(t *testing.T) {
	t.Logf("seed %d", faultSeed)
	t.Run("loss 5% delay 300ms", func(t *testing.T) {
		w := newWiredPair(t, faultSeed)
		a, b := w.devices(t)
		total := writeFlat(t, a, "lossy", faultSeed, 8, 40<<10)
		w.set(0.05, 300*time.Millisecond, false)
		start := time.Now()
		a.start()
		b.start()
		converge(t, 90*time.Second, a, b)
		t.Logf("%d KiB synced over 5%% loss and 300 ms each way in %v", total>>10, time.Since(start))
		if w.wire[0].lost.Load() == 0 || w.wire[1].lost.Load() == 0 {
			t.Fatalf("the wire lost nothing: %s; %s", w.wire[0].counts(), w.wire[1].counts())
		}
	})
	t.Run("rate 1mbit", func(t *testing.T) {
		w := newWiredPair(t, faultSeed+1)
		a, b := w.devices(t)
		total := writeFlat(t, a, "narrow", faultSeed+100, 6, 200<<10)
		w.rate(t, "1mbit")
		start := time.Now()
		a.start()
		b.start()
		converge(t, 90*time.Second, a, b)
		took := time.Since(start)
		t.Logf("%d KiB synced at 1 Mbit/s in %v (%.0f KiB/s)", total>>10, took, float64(total>>10)/took.Seconds())
		if least := time.Duration(float64(total*8) / 1e6 * float64(time.Second)); took < least {
			t.Fatalf("%d bytes crossed a 1 Mbit/s link in %v, less than the %v it allows", total, took, least)
		}
	})
	t.Run("partition", func(t *testing.T) { faultPartition(t) })
}

// faultPartition cuts the link in both directions once a quarter of a sync
// has arrived, for 30 s with FERRY_SOAK=1 and for 8 s otherwise (so that
// make test stays short; TCP's retransmission backoff after 8 s is already
// past the first few doublings), then restores it.
func faultPartition(t *testing.T) {
	cut := 8 * time.Second
	if os.Getenv("FERRY_SOAK") == "1" {
		cut = 30 * time.Second
	}
	w := newWiredPair(t, faultSeed+2)
	a, b := w.devices(t)
	total := writeFlat(t, a, "cut", faultSeed+200, 12, 256<<10)
	w.rate(t, "4mbit")
	start := time.Now()
	a.start()
	b.start()
	waitFor(t, 60*time.Second, "a quarter of the data on B", func() bool { return b.peer(a.id).InBytes >= total/4 })
	w.set(0, 0, true)
	before := b.peer(a.id).InBytes
	t.Logf("link cut for %v with %d of %d KiB received, %v after the start", cut, before>>10, total>>10, time.Since(start))
	time.Sleep(cut)
	if in := b.peer(a.id).InBytes; in >= total {
		t.Fatalf("B received all %d bytes while the link was cut", in)
	}
	t.Logf("B received %d KiB while the link was cut (what was on the way)", (b.peer(a.id).InBytes-before)>>10)
	w.set(0, 0, false)
	restored := time.Now()
	converge(t, 90*time.Second, a, b)
	t.Logf("%d KiB synced %v after the link came back (%v in all)", total>>10, time.Since(restored), time.Since(start))
}

// Records of the appended file: a 15-digit sequence number and a newline.
// Sixteen bytes divide a 4 KiB page, and the appender never lets one write
// cross a page boundary: the kernel copies a write page by page and moves
// the size after each page, so a reader could otherwise see a state between
// two writes' boundaries that the writer never paused at.
const recordSize, pageSize = 16, 4096

// records returns the first n records.
func records(n int) []byte {
	out := make([]byte, 0, n*recordSize)
	for i := range n {
		out = fmt.Appendf(out, "%015d\n", i)
	}
	return out
}

// appender writes full to path in bursts of a few records per write, with
// pauses between the bursts, and keeps every length the file had between
// two writes. ferry hashes a file only while it stays the same (it
// retries a hash that saw it change), so a writer that never paused would
// only ever be sent once it stopped; with pauses some states are hashed
// and sent while the file goes on growing.
type appender struct {
	lengths map[int]bool
	writes  int
}

func (ap *appender) run(t *testing.T, path string, full []byte, rng *rand.Rand) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	for off := 0; off < len(full); {
		burst := min(len(full), off+32<<10+rng.IntN(1<<20))
		for off < burst {
			room := (pageSize - off%pageSize) / recordSize
			n := recordSize * (1 + rng.IntN(room))
			if _, err := f.Write(full[off : off+n]); err != nil {
				return err
			}
			off += n
			ap.lengths[off] = true
			ap.writes++
		}
		time.Sleep(time.Duration(20+rng.IntN(380)) * time.Millisecond)
	}
	t.Logf("appended %d bytes in %d writes in %v", len(full), ap.writes, time.Since(start))
	return f.Close()
}

// A file that grows, in bursts of appends, all the while A hashes and
// sends it: B only ever shows a state the file had on A between two
// writes, never a mix of states, and in the end the whole file, without a
// scan being asked for.
func TestFaultAppendWhileSending(t *testing.T) {
	const total = 24 << 20
	t.Logf("seed %d", faultSeed)
	a, b := startPair(t)
	full := records(total / recordSize)
	name := "logs/growing.log"
	if err := os.MkdirAll(filepath.Dir(a.path(name)), 0o755); err != nil {
		t.Fatal(err)
	}
	ap := &appender{lengths: map[int]bool{0: true}}
	g := &growingFile{seen: map[int]bool{}}
	stop, watched := make(chan struct{}), make(chan struct{})
	go func() { g.watch(b.path(name), full, stop); close(watched) }()
	stopWatch := sync.OnceFunc(func() { close(stop); <-watched })
	defer stopWatch()
	if err := ap.run(t, a.path(name), full, rand.New(rand.NewPCG(faultSeed, 3))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the whole file on B", func() bool { return sameContent(b.path(name), full) })
	stopWatch()
	settle(t, 30*time.Second, a, b)
	var wrong []int
	for n := range g.seen {
		if !ap.lengths[n] {
			wrong = append(wrong, n)
		}
	}
	slices.Sort(wrong)
	seen := slices.Sorted(maps.Keys(g.seen))
	t.Logf("B showed %d states of the file: %v", len(seen), seen)
	if len(g.broken) > 0 {
		t.Fatalf("B showed %d contents that are not a prefix of A's file, first: %v", len(g.broken), g.broken[:min(len(g.broken), 5)])
	}
	if len(wrong) > 0 {
		t.Fatalf("B showed lengths the file never had between two writes on A: %v", wrong[:min(len(wrong), 10)])
	}
}
