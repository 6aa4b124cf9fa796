package e2e

import (
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The scale benchmark: a folder of very many small files, synced from one
// device to an empty one, then left idle, then rescanned unchanged.
const (
	scaleDefaultFiles = 100_000
	scaleFilesPerLeaf = 300
	scaleMaxFileSize  = 4 << 10
	scaleSeed         = 1_000_003
	scaleWorkers      = 4
	scaleIdle         = 35 * time.Second // past the daemon's idle trim (30 s)
	scaleTimeout      = 50 * time.Minute
	// scaleSTMaxFiles is the largest tree Syncthing is run on: a million
	// files take it too long for one benchmark run.
	scaleSTMaxFiles = 200_000
)

// BenchmarkScale syncs a generated tree of FERRY_SCALE_FILES (default
// 100,000) small files between two ferry daemons and, for trees of up to
// 200,000 files (unless FERRY_SCALE_SYNCTHING=0), between two Syncthing 1.19 instances, and compares the
// time to sync, the peak and idle memory of each process and the time of a
// forced rescan of the unchanged tree.
func BenchmarkScale(b *testing.B) {
	files := scaleFiles(b)
	withST := files <= scaleSTMaxFiles && os.Getenv("FERRY_SCALE_SYNCTHING") != "0"
	if withST {
		if _, err := exec.LookPath("syncthing"); err != nil {
			b.Fatalf("syncthing not installed: install the Debian package syncthing (make bench-deps): %v", err)
		}
	} else {
		b.Logf("%d files: Syncthing is left out (FERRY_SCALE_SYNCTHING=0, or more than %d files: it takes too long)", files, scaleSTMaxFiles)
	}
	b.StopTimer()
	start := time.Now()
	tree := makeScaleTree(b, filepath.Join(b.TempDir(), "tree"), files)
	b.Logf("generated %d files (%.1f MiB) in %d leaf directories in %.1f s",
		tree.files, float64(tree.bytes)/(1<<20), tree.leaves, time.Since(start).Seconds())
	var ferry, st scaleCost
	for range b.N {
		ferry = scaleFerry(b, tree)
		if withST {
			st = scaleSyncthing(b, tree)
		}
	}
	ferry.report(b, "ferry")
	if withST {
		st.report(b, "syncthing")
	}
	b.Logf("scale, %d files:\n%s", tree.files, scaleTable(ferry, st, tree.files))
}

// scaleFiles is the tree's file count: FERRY_SCALE_FILES or the default.
func scaleFiles(b *testing.B) int {
	s := os.Getenv("FERRY_SCALE_FILES")
	if s == "" {
		return scaleDefaultFiles
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("FERRY_SCALE_FILES=%q: want a positive number of files", s)
	}
	return n
}

// scaleCost is what one tool took for the tree; a and b are the source
// and the target process.
type scaleCost struct {
	scanned      time.Duration // from start until the source had indexed the tree
	sync         time.Duration // from start until the target held everything
	peakA, peakB float64       // MiB resident at the peak, up to the end of the sync
	idleA, idleB float64       // MiB resident after scaleIdle of idleness
	rescan       time.Duration // a forced rescan of the unchanged tree on a
	cpu          time.Duration // CPU time of both, from start to the end of the sync
}

func (c scaleCost) report(b *testing.B, tool string) {
	b.ReportMetric(c.scanned.Seconds(), tool+"-scan-s")
	b.ReportMetric(c.sync.Seconds(), tool+"-sync-s")
	b.ReportMetric(max(c.peakA, c.peakB), tool+"-peak-MiB")
	b.ReportMetric(max(c.idleA, c.idleB), tool+"-idle-MiB")
	b.ReportMetric(c.rescan.Seconds(), tool+"-rescan-s")
	b.ReportMetric(c.cpu.Seconds(), tool+"-cpu-s")
}

// scaleTable lays out both tools' costs, a row per measure; a zero st
// means Syncthing did not run.
func scaleTable(ferry, st scaleCost, files int) string {
	perFile := func(mib float64) float64 { return mib * (1 << 20) / float64(files) }
	rows := []struct {
		name, unit string
		f, s       float64
	}{
		{"source scanned", "s", ferry.scanned.Seconds(), st.scanned.Seconds()},
		{"initial sync", "s", ferry.sync.Seconds(), st.sync.Seconds()},
		{"peak rss A (source)", "MiB", ferry.peakA, st.peakA},
		{"peak rss B (target)", "MiB", ferry.peakB, st.peakB},
		{"idle rss A", "MiB", ferry.idleA, st.idleA},
		{"idle rss B", "MiB", ferry.idleB, st.idleB},
		{"peak rss A per file", "B", perFile(ferry.peakA), perFile(st.peakA)},
		{"peak rss B per file", "B", perFile(ferry.peakB), perFile(st.peakB)},
		{"idle rss A per file", "B", perFile(ferry.idleA), perFile(st.idleA)},
		{"idle rss B per file", "B", perFile(ferry.idleB), perFile(st.idleB)},
		{"rescan unchanged (A)", "s", ferry.rescan.Seconds(), st.rescan.Seconds()},
		{"CPU, both, to in sync", "s", ferry.cpu.Seconds(), st.cpu.Seconds()},
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-24s %12s %12s %16s\n", "measure", "ferry", "syncthing", "ferry/syncthing")
	for _, r := range rows {
		s := "n/a"
		if r.s > 0 {
			s = fmtScale(r.s, r.unit)
		}
		fmt.Fprintf(&sb, "%-24s %12s %12s %16s\n", r.name, fmtScale(r.f, r.unit), s, ratio(r.f, r.s))
	}
	return sb.String()
}

// fmtScale shows seconds to the hundredth, memory to the tenth of a MiB
// and bytes per file whole.
func fmtScale(v float64, unit string) string {
	switch unit {
	case "s":
		return fmt.Sprintf("%.2f s", v)
	case "B":
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// scaleTree is a generated tree: top holds the names of its top-level
// directories, bytes the sum of its file sizes.
type scaleTree struct {
	root   string
	top    []string
	files  int
	leaves int
	bytes  int64
}

// makeScaleTree writes files files under root: three levels of
// directories with a few hundred files in each leaf, names of 10-40
// characters like those of photos and documents, sizes 0-4 KiB, all drawn
// from scaleSeed; the bytes are cut from one random buffer.
func makeScaleTree(b *testing.B, root string, files int) scaleTree {
	b.Helper()
	leaves := (files + scaleFilesPerLeaf - 1) / scaleFilesPerLeaf
	fan := max(2, int(math.Ceil(math.Cbrt(float64(leaves)))))
	t := scaleTree{root: root, files: files, leaves: leaves}
	for i := range (leaves + fan*fan - 1) / (fan * fan) {
		t.top = append(t.top, scaleDirName(i, 0))
	}
	pool := chachaBytes(scaleSeed, 1<<20)
	jobs, sizes, errs := make(chan int), make(chan int64, leaves), make(chan error, leaves)
	var wg sync.WaitGroup
	for range scaleWorkers {
		wg.Go(func() {
			for leaf := range jobs {
				n, err := writeScaleLeaf(root, leaf, fan, files, pool)
				sizes <- n
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for leaf := range leaves {
		jobs <- leaf
	}
	close(jobs)
	wg.Wait()
	close(sizes)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("make scale tree: %v", err)
	}
	for n := range sizes {
		t.bytes += n
	}
	return t
}

// writeScaleLeaf writes the files of leaf directory number leaf and
// returns the sum of their sizes.
func writeScaleLeaf(root string, leaf, fan, files int, pool []byte) (int64, error) {
	dir := filepath.Join(root, scaleDirName(leaf/(fan*fan), 0),
		scaleDirName(leaf/fan%fan, 1), scaleDirName(leaf%fan, 2))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(scaleSeed, uint64(leaf)))
	var total int64
	for i := leaf * scaleFilesPerLeaf; i < min(files, (leaf+1)*scaleFilesPerLeaf); i++ {
		size := r.IntN(scaleMaxFileSize + 1)
		off := r.IntN(len(pool) - size)
		if err := os.WriteFile(filepath.Join(dir, scaleFileName(r, i)), pool[off:off+size], 0o644); err != nil {
			return total, err
		}
		total += int64(size)
	}
	return total, nil
}

var (
	scaleDirWords = [3][]string{
		{"Archive", "Projects", "Photos", "Documents", "Music", "Backup", "Shared", "Clients"},
		{"2019", "2020", "2021", "2022", "drafts", "final", "scans", "exports", "misc", "old"},
		{"January", "February", "March", "holiday", "invoices", "reports", "raw", "edited", "notes"},
	}
	scaleWords = []string{"report", "invoice", "summary", "meeting", "budget", "draft", "final",
		"notes", "contract", "scan", "family", "beach", "birthday", "quarterly", "proposal",
		"letter", "review", "plan", "minutes", "receipt", "trip", "project", "design", "specs"}
	scaleExts = []string{".jpg", ".png", ".pdf", ".docx", ".txt", ".md", ".xlsx", ".heic", ".mp3", ".csv"}
)

// scaleDirName is the name of directory i at depth level.
func scaleDirName(i, level int) string {
	words := scaleDirWords[level]
	return fmt.Sprintf("%s %02d", words[i%len(words)], i)
}

// scaleFileName is a name of 10-40 characters for file number i, unique
// because it holds i.
func scaleFileName(r *rand.Rand, i int) string {
	ext := scaleExts[r.IntN(len(scaleExts))]
	var name string
	switch r.IntN(3) {
	case 0:
		name = fmt.Sprintf("IMG_%04d%02d%02d_%07d", 2015+r.IntN(10), 1+r.IntN(12), 1+r.IntN(28), i)
	case 1:
		name = fmt.Sprintf("%s-%06d", scaleWords[r.IntN(len(scaleWords))], i)
	default:
		parts := []string{}
		for range 1 + r.IntN(3) {
			parts = append(parts, scaleWords[r.IntN(len(scaleWords))])
		}
		name = fmt.Sprintf("%s %d v%d", strings.Join(parts, " "), i, 1+r.IntN(9))
	}
	name += ext
	for len(name) < 10 {
		name = "f" + name
	}
	if len(name) > 40 {
		name = fmt.Sprintf("%.*s %d%s", 40-len(ext)-len(strconv.Itoa(i))-1, name, i, ext)
	}
	return name
}

// moveScaleTree moves the tree's top-level directories into folder (a
// rename, no copy) and returns a function that moves them back.
func moveScaleTree(b *testing.B, t scaleTree, folder string) func() {
	b.Helper()
	move := func(from, to string) {
		for _, name := range t.top {
			if err := os.Rename(filepath.Join(from, name), filepath.Join(to, name)); err != nil {
				b.Fatalf("move the scale tree: %v", err)
			}
		}
	}
	move(t.root, folder)
	return func() { move(folder, t.root) }
}

// countTree counts the regular files under root and their bytes, leaving
// out ferry's and Syncthing's own names at the root.
func countTree(b *testing.B, root string) (files int, bytes int64) {
	b.Helper()
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() && p != root && (strings.HasPrefix(de.Name(), ".ferry") || strings.HasPrefix(de.Name(), ".st")) {
			return filepath.SkipDir
		}
		if !de.Type().IsRegular() {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		files++
		bytes += fi.Size()
		return nil
	})
	if err != nil {
		b.Fatalf("count %s: %v", root, err)
	}
	return files, bytes
}

// checkHolds fails unless dir holds the tree's file count and bytes.
func checkHolds(b *testing.B, t scaleTree, tool, dir string, dump func()) {
	b.Helper()
	if files, bytes := countTree(b, dir); files != t.files || bytes != t.bytes {
		dump()
		b.Fatalf("%s: target holds %d files of %d bytes, want %d of %d", tool, files, bytes, t.files, t.bytes)
	}
}

// rssMiB is pid's resident memory now and at its peak, in MiB.
func rssMiB(b *testing.B, pid int) (now, peak float64) {
	mem := procStatus(b, pid)
	return float64(mem["VmRSS"]) / 1024, float64(mem["VmHWM"]) / 1024
}

// scaleFerry syncs the tree from a ferry daemon to an empty one, lets both
// idle and rescans the source.
func scaleFerry(b *testing.B, t scaleTree) scaleCost {
	b.Helper()
	src, dst := newDevice(b, "A"), newDevice(b, "B")
	pair(src, dst)
	if dir := os.Getenv("FERRY_SCALE_HEAP"); dir != "" {
		// Heap profiles of both daemons, for go tool pprof.
		src.serve = append(src.serve, "--memprofile", filepath.Join(dir, "heap-A.pprof"))
		dst.serve = append(dst.serve, "--memprofile", filepath.Join(dir, "heap-B.pprof"))
	}
	if dir := os.Getenv("FERRY_SCALE_CPU"); dir != "" {
		// CPU profiles of both daemons, written when they stop.
		src.serve = append(src.serve, "--cpuprofile", filepath.Join(dir, "cpu-A.pprof"))
		dst.serve = append(dst.serve, "--cpuprofile", filepath.Join(dir, "cpu-B.pprof"))
	}
	defer moveScaleTree(b, t, src.folder)()
	flushWrites()
	dump := func() { dumpFerry(b, src, dst) }
	b.StartTimer()
	start := time.Now()
	src.start()
	dst.start()
	defer src.stop()
	defer dst.stop()
	parts := peakParts(src.cmd.Process.Pid, dst.cmd.Process.Pid)
	p := waitPhases(b, start, scaleTimeout,
		func() bool { return ferryScanned(src, t.bytes) },
		func() bool { return ferryHolds(src, dst, t.bytes) }, dump)
	b.StopTimer()
	anon, file := parts()
	b.Logf("ferry: during the sync, peak anonymous A %d B %d MiB, peak file-backed A %d B %d MiB",
		anon[0]>>10, anon[1]>>10, file[0]>>10, file[1]>>10)
	c := scaleCost{scanned: p.scanned, sync: p.done}
	c.measureRSS(b, src.cmd.Process.Pid, dst.cmd.Process.Pid, func() { checkHolds(b, t, "ferry", dst.folder, dump) })
	start = time.Now()
	src.ferry("scan", "docs")
	c.rescan = time.Since(start)
	_, hwm := rssMiB(b, src.cmd.Process.Pid)
	b.Logf("ferry: peak rss of A after the rescan %.0f MiB", hwm)
	return c
}

// measureRSS takes the peak memory of the source (pidA) and the target
// (pidB) now, runs check, and takes their idle memory after scaleIdle.
func (c *scaleCost) measureRSS(b *testing.B, pidA, pidB int, check func()) {
	b.Helper()
	c.cpu = procCPU(b, pidA) + procCPU(b, pidB)
	_, c.peakA = rssMiB(b, pidA)
	_, c.peakB = rssMiB(b, pidB)
	check()
	time.Sleep(scaleIdle)
	c.idleA, _ = rssMiB(b, pidA)
	c.idleB, _ = rssMiB(b, pidB)
	for _, pid := range []int{pidA, pidB} {
		mem := procStatus(b, pid)
		b.Logf("pid %d idle: anonymous %d KiB, file-backed %d KiB", pid, mem["RssAnon"], mem["RssFile"])
	}
}

// scaleSyncthing does as scaleFerry with two Syncthing instances; the
// rescan's POST returns when the scan is done, and the folder must be idle
// again after it.
func scaleSyncthing(b *testing.B, t scaleTree) scaleCost {
	b.Helper()
	src, dst := newSTNode(b, "A"), newSTNode(b, "B")
	stPair(src, dst)
	defer moveScaleTree(b, t, src.folder)()
	flushWrites()
	dump := func() { dst.dump(src) }
	b.StartTimer()
	start := time.Now()
	src.start()
	dst.start()
	defer src.stop()
	defer dst.stop()
	p := waitPhases(b, start, scaleTimeout,
		func() bool { s, err := src.dbStatus(); return err == nil && s.complete(t.files, t.bytes) },
		func() bool { s, err := dst.dbStatus(); return err == nil && s.complete(t.files, t.bytes) }, dump)
	b.StopTimer()
	c := scaleCost{scanned: p.scanned, sync: p.done}
	c.measureRSS(b, src.cmd.Process.Pid, dst.cmd.Process.Pid, func() { checkHolds(b, t, "syncthing", dst.folder, dump) })
	c.rescan = stRescan(b, src)
	_, hwm := rssMiB(b, src.cmd.Process.Pid)
	b.Logf("syncthing: peak rss of A after the rescan %.0f MiB", hwm)
	return c
}

// stRescan forces a rescan of n's folder and times it until the folder,
// which went through scanning, is idle again.
func stRescan(b *testing.B, n *stNode) time.Duration {
	b.Helper()
	var mu sync.Mutex
	seen := map[string]bool{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if s, err := n.dbStatus(); err == nil {
				mu.Lock()
				seen[s.State] = true
				mu.Unlock()
			}
		}
	})
	start := time.Now()
	err := n.post("/rest/db/scan?folder=" + stFolderID)
	waitFor(b, scaleTimeout, "syncthing idle after the rescan", func() bool {
		s, err := n.dbStatus()
		return err == nil && s.State == "idle"
	})
	took := time.Since(start)
	close(done)
	wg.Wait()
	if err != nil {
		n.dump()
		b.Fatalf("syncthing: rescan: %v", err)
	}
	if !seen["scanning"] {
		b.Logf("syncthing: the rescan's scanning state was not seen (polled every 50 ms)")
	}
	return took
}
