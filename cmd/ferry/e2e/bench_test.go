package e2e

import (
	"encoding/json"
	"fmt"
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
	var ferry, cp, st time.Duration
	b.Run("ferry", func(b *testing.B) { ferry = timeRuns(b, ds, initialSyncFerry) })
	b.Run("cp", func(b *testing.B) { cp = timeRuns(b, ds, initialSyncCp) })
	b.Run("syncthing", func(b *testing.B) { st = timeRuns(b, ds, initialSyncSyncthing) })
	b.Logf("initial sync %.2f GiB in %d files: ferry %s, syncthing %s (ferry/syncthing %s), cp -a %s (ferry/cp %s)",
		float64(ds.bytes)/(1<<30), ds.files, rate(ds.bytes, ferry), rate(ds.bytes, st),
		speedup(st, ferry), rate(ds.bytes, cp), speedup(cp, ferry))
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

func rate(bytes int64, d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MB/s (%.1f s)", float64(bytes)/1e6/d.Seconds(), d.Seconds())
}

// speedup is how many times faster the run that took fast was.
func speedup(slow, fast time.Duration) string {
	if slow <= 0 || fast <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", slow.Seconds()/fast.Seconds())
}

// settle flushes earlier writes so they do not slow the next timed run.
func settle() { syscall.Sync() }

// initialSyncFerry times two daemons from start until the empty one holds
// the data set.
func initialSyncFerry(b *testing.B, ds dataset) time.Duration {
	b.StopTimer()
	src, dst := newDevice(b, "A"), newDevice(b, "B")
	linkTree(b, ds.root, src.folder)
	pair(src, dst)
	settle()
	b.StartTimer()
	start := time.Now()
	src.start()
	dst.start()
	waitFerryHolds(b, src, dst, ds.bytes, 30*time.Minute)
	elapsed := time.Since(start)
	b.StopTimer()
	verifyTree(b, ds.want, dst.folder, func() { dumpFerry(b, src, dst) })
	return elapsed
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

// docsStatus reads the "docs" folder's counts; ok is false while the
// daemon does not answer.
func docsStatus(d *device) (f ferryFolder, ok bool) {
	out, _, code := d.try("status", "--json")
	if code != 0 {
		return f, false
	}
	var s struct {
		Folders []ferryFolder `json:"folders"`
	}
	if json.Unmarshal([]byte(out), &s) != nil {
		return f, false
	}
	for _, f := range s.Folders {
		if f.ID == "docs" {
			return f, true
		}
	}
	return f, false
}

// waitFerryHolds waits until dst has pulled everything src announced and
// src's global state holds bytes bytes.
func waitFerryHolds(b *testing.B, src, dst *device, bytes int64, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		d, ok := docsStatus(dst)
		if ok && d.InSync && d.NeedFiles == 0 && d.GlobalBytes == bytes &&
			d.LocalBytes == bytes && d.LocalFiles == d.GlobalFiles {
			if s, ok := docsStatus(src); ok && s.GlobalFiles == d.GlobalFiles && s.GlobalBytes == bytes {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	dumpFerry(b, src, dst)
	b.Fatalf("ferry: %s did not hold the %d bytes %s has within %v", dst.name, bytes, src.name, timeout)
}

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
	dst := filepath.Join(b.TempDir(), "copy")
	settle()
	b.StartTimer()
	start := time.Now()
	out, err := exec.Command("cp", "-a", ds.root, dst).CombinedOutput()
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("cp -a: %v: %s", err, out)
	}
	verifyTree(b, ds.want, dst, nil)
	return elapsed
}

// initialSyncSyncthing times two Syncthing instances from start until the
// empty one holds the data set.
func initialSyncSyncthing(b *testing.B, ds dataset) time.Duration {
	b.StopTimer()
	src, dst := newSTNode(b, "A"), newSTNode(b, "B")
	linkTree(b, ds.root, src.folder)
	stPair(src, dst)
	settle()
	b.StartTimer()
	start := time.Now()
	src.start()
	dst.start()
	dst.waitComplete(30*time.Minute, ds.files, ds.bytes, src)
	elapsed := time.Since(start)
	b.StopTimer()
	verifyTree(b, ds.want, dst.folder, func() { dst.dump(src) }, stMarker)
	return elapsed
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
	b.Logf("insert 1 byte into %d MiB: ferry %s, rsync %s (rsync/ferry %s), syncthing %s (syncthing/ferry %s)",
		insertFileSize>>20, size(ferry), size(rsync), times(rsync, ferry), size(st), times(st, ferry))
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

func size(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}

func times(n, base int64) string {
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
	last, since := read(), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if now := read(); now != last {
			last, since = now, time.Now()
		} else if time.Since(since) >= time.Second {
			break
		}
	}
	return last - before
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
