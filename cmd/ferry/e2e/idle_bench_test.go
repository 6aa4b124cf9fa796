package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The idle cost of watching a large folder: once the first scan is done,
// how much CPU and memory a daemon uses while nothing changes.
const (
	idleDirs        = 100
	idleFilesPerDir = 1000
	idleFiles       = idleDirs * idleFilesPerDir
	idleMaxFileSize = 2 << 10
	idleWindow      = 30 * time.Second
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat;
	// Linux fixes it at 100 for user space.
	clockTicks = 100
)

// BenchmarkIdleCost measures ferry and Syncthing 1.19, each watching the
// same folder of 100,000 small files with one paired device that stays
// offline (Syncthing's config needs a peer; ferry gets one too so both do
// the same work), over 30 s of idleness after their first scan.
func BenchmarkIdleCost(b *testing.B) {
	needSyncthing(b)
	tree := filepath.Join(b.TempDir(), "tree")
	start := time.Now()
	total := makeIdleTree(b, tree)
	b.Logf("generated %d files of 0-%d bytes in %d directories in %.1f s",
		idleFiles, idleMaxFileSize, idleDirs, time.Since(start).Seconds())
	var ferry, st idleCost
	b.Run("ferry", func(b *testing.B) {
		ferry = idleRuns(b, func(b *testing.B) idleCost { return idleFerry(b, tree, total) })
	})
	b.Run("syncthing", func(b *testing.B) {
		st = idleRuns(b, func(b *testing.B) idleCost { return idleSyncthing(b, tree) })
	})
	b.Logf("idle over %v with %d files (cpu resolution %.3f%%): ferry %s; syncthing %s; ferry/syncthing: cpu %s, rss %s, peak rss %s",
		idleWindow, idleFiles, 100/clockTicks/idleWindow.Seconds(), ferry, st,
		ratio(ferry.cpu, st.cpu), ratio(ferry.rss, st.rss), ratio(ferry.hwm, st.hwm))
}

// idleCost is what one daemon used while idle.
type idleCost struct {
	scan time.Duration // from start until the first scan was done
	cpu  float64       // percent of one core over the window
	rss  float64       // MiB resident at the end of the window
	hwm  float64       // MiB resident at the peak, first scan included
}

func (c idleCost) String() string {
	return fmt.Sprintf("first scan %.1f s, cpu %.2f%% of a core, rss %.0f MiB (peak %.0f MiB)",
		c.scan.Seconds(), c.cpu, c.rss, c.hwm)
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// idleRuns measures once per iteration and reports the last measurement.
func idleRuns(b *testing.B, run func(*testing.B) idleCost) idleCost {
	var c idleCost
	for range b.N {
		c = run(b)
	}
	b.ReportMetric(c.cpu, "cpu%")
	b.ReportMetric(c.rss, "rss-MiB")
	b.ReportMetric(c.hwm, "peak-rss-MiB")
	b.ReportMetric(c.scan.Seconds(), "scan-s")
	b.Logf("%s", c)
	return c
}

// makeIdleTree writes the folder: idleDirs directories of idleFilesPerDir
// files each, sizes 0-2 KiB, their bytes cut from one random buffer at
// different offsets so that nearly every file differs. It returns the sum
// of the file sizes.
func makeIdleTree(b *testing.B, root string) int64 {
	b.Helper()
	pool := chachaBytes(100_000, 1<<20)
	var wg sync.WaitGroup
	errs := make(chan error, idleDirs)
	for d := range idleDirs {
		wg.Go(func() {
			dir := filepath.Join(root, fmt.Sprintf("dir%03d", d))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				errs <- err
				return
			}
			for f := range idleFilesPerDir {
				i := d*idleFilesPerDir + f
				off, size := i*7919%(len(pool)-idleMaxFileSize), idleFileSize(i)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.txt", f)), pool[off:off+size], 0o644); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("make idle tree: %v", err)
	}
	var total int64
	for i := range idleFiles {
		total += int64(idleFileSize(i))
	}
	return total
}

// idleFileSize is the size of the idle tree's file number i.
func idleFileSize(i int) int { return i * 37 % (idleMaxFileSize + 1) }

// moveTree moves the directories of tree into folder (a rename, no copy),
// and returns a function that moves them back.
func moveTree(b *testing.B, tree, folder string) func() {
	b.Helper()
	move := func(from, to string) {
		for d := range idleDirs {
			name := fmt.Sprintf("dir%03d", d)
			if err := os.Rename(filepath.Join(from, name), filepath.Join(to, name)); err != nil {
				b.Fatalf("move the idle tree: %v", err)
			}
		}
	}
	move(tree, folder)
	return func() { move(folder, tree) }
}

// idleFerry starts ferry on the tree, waits for its first scan (all bytes
// indexed: its file count includes directories) and measures.
func idleFerry(b *testing.B, tree string, total int64) idleCost {
	b.StopTimer()
	d, peer := newDevice(b, "A"), newDevice(b, "B")
	pair(d, peer)
	defer moveTree(b, tree, d.folder)()
	start := time.Now()
	d.start()
	defer d.stop()
	waitFor(b, 2*time.Minute, "ferry's first scan", func() bool {
		time.Sleep(time.Second) // each status call is a process; keep them rare
		f, ok := docsStatus(d)
		return ok && f.State == "idle" && f.LocalBytes == total
	})
	c := idleCost{scan: time.Since(start)}
	b.StartTimer()
	measureIdle(b, d.cmd.Process.Pid, &c)
	b.StopTimer()
	return c
}

// idleSyncthing starts Syncthing on the tree, waits for its first scan and
// measures.
func idleSyncthing(b *testing.B, tree string) idleCost {
	b.StopTimer()
	n, peer := newSTNode(b, "A"), newSTNode(b, "B")
	stPair(n, peer)
	stSetWatcher(b, n, 10)
	defer moveTree(b, tree, n.folder)()
	start := time.Now()
	n.start()
	defer n.stop()
	waitFor(b, 2*time.Minute, "syncthing's first scan", func() bool {
		s, err := n.dbStatus()
		return err == nil && s.State == "idle" && s.LocalFiles == idleFiles
	})
	c := idleCost{scan: time.Since(start)}
	b.StartTimer()
	measureIdle(b, n.cmd.Process.Pid, &c)
	b.StopTimer()
	return c
}

// measureIdle fills c with pid's CPU use over idleWindow and its memory at
// the end of it.
func measureIdle(b *testing.B, pid int, c *idleCost) {
	b.Helper()
	before, start := cpuTicks(b, pid), time.Now()
	time.Sleep(idleWindow)
	used, took := cpuTicks(b, pid)-before, time.Since(start)
	c.cpu = 100 * float64(used) / clockTicks / took.Seconds()
	mem := procStatus(b, pid)
	c.rss, c.hwm = float64(mem["VmRSS"])/1024, float64(mem["VmHWM"])/1024
}

// cpuTicks is utime + stime of pid, in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name (field 2) may hold spaces; fields after it are
	// plain. utime and stime are fields 14 and 15.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		b.Fatalf("/proc/%d/stat: too few fields: %q", pid, s)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return ticks
}

// procStatus reads the kB values of /proc/PID/status by name.
func procStatus(b *testing.B, pid int) map[string]int64 {
	b.Helper()
	out, err := readProcStatus(pid)
	if err != nil {
		b.Fatal(err)
	}
	if out["VmRSS"] == 0 {
		b.Fatalf("/proc/%d/status: no VmRSS", pid)
	}
	return out
}

// readProcStatus reads the kB values of /proc/PID/status by name.
func readProcStatus(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(rest)
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
			out[name] = n
		}
	}
	return out, sc.Err()
}

// procCPU is the CPU time (user and system) pid has used so far, from
// /proc/PID/stat, whose times are in units of 1/100 s.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: the fields are
	// counted after its closing parenthesis. utime and stime are the
	// 14th and 15th fields, the 12th and 13th after it.
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[i+1:]))
	if i < 0 || len(fields) < 13 {
		tb.Fatalf("/proc/%d/stat: unexpected form %q", pid, data)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			tb.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// peakParts samples the anonymous and file-backed resident memory of pids
// every 100 ms until the returned function is called, which returns the
// highest of each, in KiB, per pid. The kernel keeps only the peak of
// their sum.
func peakParts(pids ...int) func() (anon, file []int64) {
	anon, file := make([]int64, len(pids)), make([]int64, len(pids))
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, pid := range pids {
				if mem, err := readProcStatus(pid); err == nil {
					anon[i], file[i] = max(anon[i], mem["RssAnon"]), max(file[i], mem["RssFile"])
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() ([]int64, []int64) {
		close(done)
		<-stopped
		return anon, file
	}
}
