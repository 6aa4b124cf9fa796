package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkInitialSync copies the same 1 GiB data set from one device to an
// empty one with ferry, cp -a and Syncthing, and logs how they compare.
func BenchmarkInitialSync(b *testing.B) {
	ds := makeDataset(b, filepath.Join(b.TempDir(), "dataset"))
	// Every run's directories stay until all runs are done: on a
	// filesystem without a journal (like ext4 here), creating files soon
	// after many were deleted is several times slower, and the run after a
	// cleanup would pay for the one before it.
	ds.scratch = b.TempDir()
	var ferry, cp, st time.Duration
	b.Run("ferry", func(b *testing.B) { ferry = timeRuns(b, ds, initialSyncFerry) })
	b.Run("cp", func(b *testing.B) { cp = timeRuns(b, ds, initialSyncCp) })
	b.Run("syncthing", func(b *testing.B) { st = timeRuns(b, ds, initialSyncSyncthing) })
	b.Logf("initial sync %.2f GiB in %d files: ferry %s, syncthing %s (ferry/syncthing %s), cp -a %s (ferry/cp %s)",
		float64(ds.bytes)/(1<<30), ds.files, fmtRate(ds.bytes, ferry), fmtRate(ds.bytes, st),
		fmtSpeedup(st, ferry), fmtRate(ds.bytes, cp), fmtSpeedup(cp, ferry))
}

// timeRuns runs one initial sync per iteration and reports the mean rate.
func timeRuns(b *testing.B, ds dataset, run func(*testing.B, dataset) time.Duration) time.Duration {
	var total time.Duration
	for range b.N {
		total += run(b, ds)
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(ds.bytes)/1e6/per.Seconds(), "MB/s")
	b.ReportMetric(float64(ds.bytes), "bytes")
	return per
}

// fmtRate shows bytes moved in d as MB/s and seconds.
func fmtRate(bytes int64, d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MB/s (%.1f s)", float64(bytes)/1e6/d.Seconds(), d.Seconds())
}

// fmtSpeedup is how many times faster the run that took fast was.
func fmtSpeedup(slow, fast time.Duration) string {
	if slow <= 0 || fast <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", slow.Seconds()/fast.Seconds())
}

// scratchDir makes a new directory in the data set's scratch space.
func scratchDir(b *testing.B, ds dataset) string {
	dir, err := os.MkdirTemp(ds.scratch, "run-")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// flushWrites flushes earlier writes so they do not slow the next timed run.
func flushWrites() { syscall.Sync() }

// initialSyncFerry times two daemons from start until the empty one holds
// the data set.
func initialSyncFerry(b *testing.B, ds dataset) time.Duration {
	b.StopTimer()
	src, dst := newDeviceIn(b, scratchDir(b, ds), "A"), newDeviceIn(b, scratchDir(b, ds), "B")
	copyTree(b, ds.root, src.folder)
	pair(src, dst)
	if dir := os.Getenv("FERRY_BENCH_CPU"); dir != "" {
		// CPU profiles of both daemons, written when they stop.
		src.serve = append(src.serve, "--cpuprofile", filepath.Join(dir, "sync-cpu-A.pprof"))
		dst.serve = append(dst.serve, "--cpuprofile", filepath.Join(dir, "sync-cpu-B.pprof"))
	}
	flushWrites()
	b.StartTimer()
	start := time.Now()
	src.start()
	dst.start()
	p := waitPhases(b, start, 30*time.Minute,
		func() bool { return ferryScanned(src, ds.bytes) },
		func() bool { return ferryHolds(src, dst, ds.bytes) },
		func() { dumpFerry(b, src, dst) })
	b.StopTimer()
	p.cpu = procCPU(b, src.cmd.Process.Pid) + procCPU(b, dst.cmd.Process.Pid)
	p.report(b, "ferry", ds.bytes)
	verifyTree(b, ds.want, dst.folder, func() {
		dumpFerry(b, src, dst)
		diffs := treeDiffs(b, ds.want, src.folder, nil)
		b.Logf("ferry: the source differs from the data set in %d entries: %q", len(diffs), diffs[:min(len(diffs), 5)])
	})
	// Idle after the sync, past the daemons' idle trim: what they keep.
	time.Sleep(scaleIdle)
	idleA, _ := rssMiB(b, src.cmd.Process.Pid)
	idleB, _ := rssMiB(b, dst.cmd.Process.Pid)
	b.ReportMetric(idleA, "idle-rss-A-MiB")
	b.ReportMetric(idleB, "idle-rss-B-MiB")
	b.Logf("ferry: idle after the sync, RSS A %.1f MiB, B %.1f MiB", idleA, idleB)
	return p.done
}

// phases is when a timed initial sync passed its milestones, counted from
// the start of the first daemon.
type phases struct {
	scanned time.Duration // the source has indexed the whole data set
	done    time.Duration // the target holds all of it
	cpu     time.Duration // both processes' CPU time until done, if measured
}

// waitPhases polls scanned until it holds, then done; after timeout it
// calls dump and fails.
func waitPhases(b *testing.B, start time.Time, timeout time.Duration, scanned, done func() bool, dump func()) phases {
	b.Helper()
	var p phases
	for deadline := start.Add(timeout); time.Now().Before(deadline); time.Sleep(pollEvery) {
		if p.scanned == 0 && scanned() {
			p.scanned = time.Since(start)
		}
		if p.scanned != 0 && done() {
			p.done = time.Since(start)
			return p
		}
	}
	dump()
	b.Fatalf("not complete within %v (source scanned: %v)", timeout, p.scanned != 0)
	return p
}

func (p phases) report(b *testing.B, tool string, bytes int64) {
	b.ReportMetric(p.scanned.Seconds(), "scan-s")
	gib := float64(bytes) / (1 << 30)
	b.ReportMetric(p.cpu.Seconds()/gib, "cpu-s/GiB")
	b.Logf("%s: source scanned after %.1f s, target complete after %.1f s, CPU %.1f s for both (%.1f s per GiB)",
		tool, p.scanned.Seconds(), p.done.Seconds(), p.cpu.Seconds(), p.cpu.Seconds()/gib)
}

// ferryFolder is the part of a folder's status that shows progress.
type ferryFolder struct {
	ID          string `json:"id"`
	State       string `json:"state"`
	InSync      bool   `json:"inSync"`
	NeedFiles   int    `json:"needFiles"`
	LocalFiles  int    `json:"localFiles"`
	LocalBytes  int64  `json:"localBytes"`
	GlobalFiles int    `json:"globalFiles"`
	GlobalBytes int64  `json:"globalBytes"`
}

// docsStatus reads the "docs" folder's counts from the daemon's API; ok is
// false while the daemon does not answer. It asks over HTTP, as the
// Syncthing runs are asked, so that polling costs both the same.
func docsStatus(d *device) (f ferryFolder, ok bool) {
	body, ok := d.apiGet("/api/status")
	if !ok {
		return f, false
	}
	var s struct {
		Folders []ferryFolder `json:"folders"`
	}
	if json.Unmarshal(body, &s) != nil {
		return f, false
	}
	for _, f := range s.Folders {
		if f.ID == "docs" {
			return f, true
		}
	}
	return f, false
}

// pollEvery is how often the benchmarks ask a daemon for its progress.
const pollEvery = 250 * time.Millisecond

// ferryScanned reports whether src has indexed bytes bytes of files.
func ferryScanned(src *device, bytes int64) bool {
	s, ok := docsStatus(src)
	return ok && s.InSync && s.LocalBytes == bytes
}

// ferryHolds reports whether dst has pulled everything src announced.
func ferryHolds(src, dst *device, bytes int64) bool {
	d, ok := docsStatus(dst)
	if !ok || !d.InSync || d.NeedFiles != 0 || d.GlobalBytes != bytes ||
		d.LocalBytes != bytes || d.LocalFiles != d.GlobalFiles {
		return false
	}
	s, ok := docsStatus(src)
	return ok && s.GlobalFiles == d.GlobalFiles && s.GlobalBytes == bytes
}

// dumpFerry logs the folder status and log tail of each device.
func dumpFerry(b *testing.B, devs ...*device) {
	for _, d := range devs {
		f, _ := docsStatus(d)
		logs := ""
		if d.log != nil {
			logs = tail(d.log.String(), 3000)
		}
		b.Logf("ferry %s folder %+v\nlog:\n%s", d.name, f, logs)
	}
}

// initialSyncCp times cp -a of the data set into a new directory.
func initialSyncCp(b *testing.B, ds dataset) time.Duration {
	b.StopTimer()
	dst := filepath.Join(scratchDir(b, ds), "copy")
	flushWrites()
	b.StartTimer()
	start := time.Now()
	out, err := exec.Command("cp", "-a", ds.root, dst).CombinedOutput()
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("cp -a: %v: %s", err, out)
	}
	// cp does not fsync; ferry and Syncthing do. Report the rate with the
	// flush to disk as well.
	flushWrites()
	b.ReportMetric(float64(ds.bytes)/1e6/time.Since(start).Seconds(), "MB/s-with-sync")
	verifyTree(b, ds.want, dst, nil)
	return elapsed
}

// initialSyncSyncthing times two Syncthing instances from start until the
// empty one holds the data set.
func initialSyncSyncthing(b *testing.B, ds dataset) time.Duration {
	b.StopTimer()
	src, dst := newSTNodeIn(b, scratchDir(b, ds), "A"), newSTNodeIn(b, scratchDir(b, ds), "B")
	copyTree(b, ds.root, src.folder)
	stPair(src, dst)
	flushWrites()
	b.StartTimer()
	start := time.Now()
	src.start()
	dst.start()
	p := waitPhases(b, start, 30*time.Minute,
		func() bool { s, err := src.dbStatus(); return err == nil && s.complete(ds.files, ds.bytes) },
		func() bool { s, err := dst.dbStatus(); return err == nil && s.complete(ds.files, ds.bytes) },
		func() { dst.dump(src) })
	b.StopTimer()
	p.cpu = procCPU(b, src.cmd.Process.Pid) + procCPU(b, dst.cmd.Process.Pid)
	p.report(b, "syncthing", ds.bytes)
	verifyTree(b, ds.want, dst.folder, func() { dst.dump(src) }, stMarker)
	return p.done
}

// insertFileSize is the file that gets one byte inserted in its middle.
const insertFileSize = 64 << 20

// BenchmarkInsertOneByte inserts one byte in the middle of a 64 MiB file
// both sides already hold and counts the bytes that cross the wire to
// bring the other side up to date, for ferry, rsync and Syncthing.
func BenchmarkInsertOneByte(b *testing.B) {
	old := chachaBytes(64, insertFileSize)
	edited := insertByte(old, len(old)/2, 'x')
	var ferry, rsync, st int64
	b.Run("ferry", func(b *testing.B) { ferry = wireRuns(b, old, edited, insertFerry) })
	b.Run("rsync", func(b *testing.B) { rsync = wireRuns(b, old, edited, insertRsync) })
	b.Run("syncthing", func(b *testing.B) { st = wireRuns(b, old, edited, insertSyncthing) })
	b.Logf("insert 1 byte into %d MiB, bytes on the wire: ferry %s, rsync %s (ferry/rsync %s), syncthing %s (ferry/syncthing %s)",
		insertFileSize>>20, fmtKiB(ferry), fmtKiB(rsync), fmtRatio(ferry, rsync), fmtKiB(st), fmtRatio(ferry, st))
}

// wireRuns runs one insert per iteration and reports the mean wire bytes.
func wireRuns(b *testing.B, old, edited []byte, run func(*testing.B, []byte, []byte) int64) int64 {
	var total int64
	for range b.N {
		total += run(b, old, edited)
	}
	per := total / int64(b.N)
	b.ReportMetric(float64(per), "wire-bytes")
	return per
}

// fmtKiB shows a byte count in KiB.
func fmtKiB(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}

// fmtRatio shows n as a multiple of base.
func fmtRatio(n, base int64) string {
	if n <= 0 || base <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", float64(n)/float64(base))
}

// insertFerry syncs old between two daemons, then times and counts the
// edit's way from a scan on A to B holding it.
func insertFerry(b *testing.B, old, edited []byte) int64 {
	b.StopTimer()
	src, dst := newDevice(b, "A"), newDevice(b, "B")
	writeFile(b, src.path("big.bin"), old, 0o644)
	pair(src, dst)
	src.start()
	dst.start()
	converge(b, 3*time.Minute, src, dst)
	before := ferryWire(src, dst.id)
	b.StartTimer()
	writeFile(b, src.path("big.bin"), edited, 0o644)
	src.ferry("scan", "docs")
	waitFor(b, 2*time.Minute, "B holds the edit", func() bool {
		return sameContent(dst.path("big.bin"), edited) && dst.inSync()
	})
	b.StopTimer()
	return stableDelta(b, before, func() int64 { return ferryWire(src, dst.id) })
}

// ferryWire is what src sent to and received from peer.
func ferryWire(src *device, peer string) int64 {
	p := src.peer(peer)
	return p.InBytes + p.OutBytes
}

// stableDelta waits until read stops changing (late acknowledgements and
// index updates count too) and returns its growth since before.
func stableDelta(b *testing.B, before int64, read func() int64) int64 {
	b.Helper()
	return steady(b, read) - before
}

// insertRsync pushes old to an rsync daemon, then counts the bytes of the
// delta transfer that brings it the edit.
func insertRsync(b *testing.B, old, edited []byte) int64 {
	b.StopTimer()
	src, dest := b.TempDir(), b.TempDir()
	daemon := startRsyncDaemon(b, dest)
	writeFile(b, filepath.Join(src, "big.bin"), old, 0o644)
	daemon.push(src)
	writeFile(b, filepath.Join(src, "big.bin"), edited, 0o644)
	b.StartTimer()
	sent, received := daemon.push(src, "--no-whole-file")
	b.StopTimer()
	if !sameContent(filepath.Join(dest, "big.bin"), edited) {
		b.Fatalf("rsync: destination does not hold the edit:\n%s", daemon.log.String())
	}
	return sent + received
}

// insertSyncthing syncs old between two instances, then counts the bytes
// that bring B the edit after a rescan on A.
func insertSyncthing(b *testing.B, old, edited []byte) int64 {
	b.StopTimer()
	src, dst := newSTNode(b, "A"), newSTNode(b, "B")
	writeFile(b, filepath.Join(src.folder, "big.bin"), old, 0o644)
	stPair(src, dst)
	src.start()
	dst.start()
	dst.waitComplete(3*time.Minute, 1, int64(len(old)), src)
	read := func() int64 {
		n, err := src.wireBytes(dst.id)
		if err != nil {
			src.dump(dst)
			b.Fatalf("syncthing: %v", err)
		}
		return n
	}
	before := read()
	b.StartTimer()
	writeFile(b, filepath.Join(src.folder, "big.bin"), edited, 0o644)
	if err := src.post("/rest/db/scan?folder=" + stFolderID); err != nil {
		b.Fatalf("syncthing: rescan: %v", err)
	}
	dst.waitComplete(2*time.Minute, 1, int64(len(edited)), src)
	b.StopTimer()
	if !sameContent(filepath.Join(dst.folder, "big.bin"), edited) {
		src.dump(dst)
		b.Fatalf("syncthing: B does not hold the edit")
	}
	return stableDelta(b, before, read)
}
