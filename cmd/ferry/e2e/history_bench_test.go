package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/index/chunker"
	"ferry/proto"
)

// What the version history costs and gives back: the disk a device's kept
// versions take next to Syncthing's staggered versioning and restic, and how
// fast a whole folder comes back as it was at a moment next to restic
// restore. Each tool gets the same files and the same edits, from the same
// seeds, in the same run.

// An edit overwrites a few hundred bytes at an offset, keeping the size.
type edit struct {
	off  int64
	data []byte
}

// smallEdits draws runs edits of 200 to 600 random bytes at random offsets
// of a file of size bytes.
func smallEdits(rng *rand.Rand, size int64, runs int) []edit {
	out := make([]edit, runs)
	for i := range out {
		data := make([]byte, 200+rng.IntN(401))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		out[i] = edit{off: rng.Int64N(size - int64(len(data))), data: data}
	}
	return out
}

// applyEdits makes the edits in data.
func applyEdits(data []byte, edits []edit) {
	for _, e := range edits {
		copy(data[e.off:], e.data)
	}
}

// writeEdits makes the edits in the file at path, in place.
func writeEdits(tb testing.TB, path string, edits []edit) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range edits {
		if _, err := f.WriteAt(e.data, e.off); err != nil {
			f.Close()
			tb.Fatalf("edit %s: %v", path, err)
		}
	}
	if err := f.Close(); err != nil {
		tb.Fatalf("edit %s: %v", path, err)
	}
}

// treeBytes is the total size of the regular files under root, and their
// number; a missing root holds nothing.
func treeBytes(tb testing.TB, root string) (size int64, files int) {
	tb.Helper()
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		size += fi.Size()
		files++
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		tb.Fatalf("size of %s: %v", root, err)
	}
	return size, files
}

// fmtMiB shows a byte count in MiB.
func fmtMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// ratio64 is n/base, or 0 when base is not positive.
func ratio64(n, base int64) float64 {
	if base <= 0 {
		return 0
	}
	return float64(n) / float64(base)
}

// The store benchmark: ten versions of one large file, each a few small
// edits away from the one before.
const (
	storeFileSize = 64 << 20
	storeEdits    = 10
	storeEditRuns = 3
	storeSeed     = 640
	// stVersionGap spaces the edits the Syncthing side receives. Staggered
	// versioning keeps one version per 30 s in the first hour, judged by
	// the archive time in each version's name: edits closer together would
	// leave fewer versions, and a smaller store only because it kept less.
	stVersionGap = 32 * time.Second
)

// storeResult is what a receiving device's version store held after the
// edits.
type storeResult struct {
	bytes    int64 // all files of the store
	files    int
	versions int // kept versions of the file
}

// BenchmarkHistoryStoreVsSyncthing writes a 64 MiB file, syncs it, then
// syncs ten versions of it, each three runs of a few hundred bytes away
// from the one before, and measures what the receiver keeps of the ten it
// replaced: ferry's history (HOME/history, every version kept) against
// Syncthing 1.19's .stversions with staggered versioning, which keeps a
// whole copy of each replaced file.
func BenchmarkHistoryStoreVsSyncthing(b *testing.B) {
	needSyncthing(b)
	var ferry, st storeResult
	for range b.N {
		ferry = storeFerry(b)
		st = storeSyncthing(b)
	}
	b.ReportMetric(float64(ferry.bytes), "ferry-store-bytes")
	b.ReportMetric(float64(st.bytes), "syncthing-store-bytes")
	b.ReportMetric(ratio64(ferry.bytes, storeFileSize), "ferry-store/file")
	b.ReportMetric(ratio64(st.bytes, storeFileSize), "syncthing-store/file")
	b.ReportMetric(ratio64(ferry.bytes, st.bytes), "ferry/syncthing")
	b.Logf("version store after %d versions of a %d MiB file (%d edits of 200-600 bytes each) were replaced:\n"+
		"  %-10s %12s %8s %10s %12s\n"+
		"  %-10s %12s %8d %10d %11.2fx\n"+
		"  %-10s %12s %8d %10d %11.2fx\n"+
		"  ferry/syncthing %.3fx",
		storeEdits, storeFileSize>>20, storeEditRuns,
		"", "store", "files", "versions", "store/file",
		"ferry", fmtMiB(ferry.bytes), ferry.files, ferry.versions, ratio64(ferry.bytes, storeFileSize),
		"syncthing", fmtMiB(st.bytes), st.files, st.versions, ratio64(st.bytes, storeFileSize),
		ratio64(ferry.bytes, st.bytes))
}

// storeFerry syncs the file and its edits from A to B and measures B's
// history.
func storeFerry(b *testing.B) storeResult {
	b.StopTimer()
	src, dst := newDevice(b, "A"), newDevice(b, "B")
	dst.ferry("folder", "set", "docs", "--keep", "forever")
	data := chachaBytes(storeSeed, storeFileSize)
	writeFile(b, src.path("big.bin"), data, 0o644)
	pair(src, dst)
	src.start()
	dst.start()
	converge(b, 3*time.Minute, src, dst)
	rng := rand.New(rand.NewPCG(storeSeed, storeEdits))
	hist := filepath.Join(dst.home, "history")
	var growth []string
	b.StartTimer()
	for i := range storeEdits {
		edits := smallEdits(rng, storeFileSize, storeEditRuns)
		applyEdits(data, edits)
		writeEdits(b, src.path("big.bin"), edits)
		src.ferry("scan", "docs")
		waitFor(b, 2*time.Minute, fmt.Sprintf("ferry B holds version %d", i+1), func() bool {
			return sameContent(dst.path("big.bin"), data)
		})
		b.StopTimer()
		packs, _ := treeBytes(b, filepath.Join(hist, "blocks", "packs"))
		growth = append(growth, fmtMiB(packs))
		b.StartTimer()
	}
	b.StopTimer()
	waitFor(b, time.Minute, "ferry B in sync", func() bool { f, ok := docsStatus(dst); return ok && f.InSync })
	vs := dst.versions("big.bin")
	if len(vs) != storeEdits+1 {
		b.Fatalf("ferry B lists %d versions of big.bin, want the current one and %d kept: %+v", len(vs), storeEdits, vs)
	}
	r := storeResult{versions: len(vs) - 1}
	r.bytes, r.files = treeBytes(b, hist)
	b.Logf("ferry: history %s in %d files; packs after each version: %s; %s",
		fmtMiB(r.bytes), r.files, strings.Join(growth, ", "), historyBreakdown(b, dst))
	return r
}

// storeSyncthing syncs the file and its edits between two Syncthing
// instances, B with staggered versioning, and measures B's .stversions.
func storeSyncthing(b *testing.B) storeResult {
	b.StopTimer()
	src, dst := newSTNode(b, "A"), newSTNode(b, "B")
	data := chachaBytes(storeSeed, storeFileSize)
	writeFile(b, filepath.Join(src.folder, "big.bin"), data, 0o644)
	stPair(src, dst)
	stSetStaggered(b, dst)
	src.start()
	dst.start()
	stCheckVersioning(b, dst)
	dst.waitComplete(3*time.Minute, 1, storeFileSize, src)
	rng := rand.New(rand.NewPCG(storeSeed, storeEdits))
	b.StartTimer()
	next := time.Now()
	for i := range storeEdits {
		time.Sleep(time.Until(next))
		next = time.Now().Add(stVersionGap)
		edits := smallEdits(rng, storeFileSize, storeEditRuns)
		applyEdits(data, edits)
		writeEdits(b, filepath.Join(src.folder, "big.bin"), edits)
		if err := src.post("/rest/db/scan?folder=" + stFolderID); err != nil {
			b.Fatalf("syncthing: rescan: %v", err)
		}
		waitFor(b, 2*time.Minute, fmt.Sprintf("syncthing B holds version %d", i+1), func() bool {
			return sameContent(filepath.Join(dst.folder, "big.bin"), data)
		})
		dst.waitComplete(time.Minute, 1, storeFileSize, src)
	}
	b.StopTimer()
	var r storeResult
	r.bytes, r.files = treeBytes(b, filepath.Join(dst.folder, ".stversions"))
	r.versions = r.files
	if r.versions != storeEdits {
		dst.dump(src)
		b.Fatalf("syncthing B keeps %d versions in .stversions, want %d", r.versions, storeEdits)
	}
	return r
}

// stSetStaggered gives n's folder staggered versioning that keeps versions
// for a year and cleans once an hour, as Syncthing's defaults do.
func stSetStaggered(b *testing.B, n *stNode) {
	b.Helper()
	path := filepath.Join(n.home, "config.xml")
	cfg, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	anchor := []byte("<filesystemType>basic</filesystemType>")
	if bytes.Count(cfg, anchor) != 1 {
		b.Fatalf("syncthing %s: config has no single %s", n.name, anchor)
	}
	versioning := `<versioning type="staggered">
            <param key="maxAge" val="31536000"></param>
            <param key="cleanInterval" val="3600"></param>
            <cleanupIntervalS>3600</cleanupIntervalS>
        </versioning>`
	cfg = bytes.Replace(cfg, anchor, append(append(anchor, "\n        "...), versioning...), 1)
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		b.Fatal(err)
	}
}

// stCheckVersioning fails unless the running instance n took staggered
// versioning from its config.
func stCheckVersioning(b *testing.B, n *stNode) {
	b.Helper()
	var f struct {
		Versioning struct {
			Type   string            `json:"type"`
			Params map[string]string `json:"params"`
		} `json:"versioning"`
	}
	if err := n.get("/rest/config/folders/"+stFolderID, &f); err != nil {
		b.Fatalf("syncthing %s: folder config: %v", n.name, err)
	}
	if f.Versioning.Type != "staggered" || f.Versioning.Params["maxAge"] != "31536000" {
		b.Fatalf("syncthing %s: folder versioning %+v, want staggered with maxAge 31536000", n.name, f.Versioning)
	}
}

// The restore benchmark: a 1 GiB folder of 256 files of 4 MiB in 8
// directories, then 20 rounds that each make small edits in a tenth of the
// files.
const (
	restoreDirs     = 8
	restoreFiles    = 256
	restoreFileSize = 4 << 20
	restoreRounds   = 20
	restorePerRound = restoreFiles / 10
	restoreEditRuns = 3
	restoreAtRound  = 10 // the moment restored: just after this round
	restoreSeed     = 1 << 30
	// restoreTarget is the product's goal for the store: ferry's history
	// plus its live folder within this multiple of restic's repository.
	restoreTarget = 1.2
)

// restoreBench is the state of one run of the restore benchmark.
type restoreBench struct {
	b       *testing.B
	src     *device // makes the edits
	dst     *device // keeps the versions, restores
	restic  *resticRepo
	rng     *rand.Rand
	snaps   []string          // restic snapshots: [0] before round 1, [i] after round i
	moments []time.Time       // [i] a moment between round i and round i+1
	want    map[string]node   // the files just after restoreAtRound
	sums    map[string][]byte // sha256 of each file on A, as B must hold it
}

// BenchmarkHistoryRestoreVsRestic syncs a 1 GiB folder from A to B and
// makes 20 rounds of small edits on A, each synced to B (which keeps every
// version) and backed up by restic into a local repository: the state
// before the first round and after every round, 21 snapshots. Then it
// compares the disk each keeps and how fast each brings back the whole
// folder as it was after round 10 into an empty directory, with the page
// cache dropped before each restore so that both read from disk.
func BenchmarkHistoryRestoreVsRestic(b *testing.B) {
	for range b.N {
		b.StopTimer()
		rb := newRestoreBench(b)
		for round := 1; round <= restoreRounds; round++ {
			rb.round(round)
		}
		s := rb.sizes()
		rb.report(s, rb.restores())
	}
}

// newRestoreBench makes the folder on A, syncs it to B and takes restic's
// first snapshot.
func newRestoreBench(b *testing.B) *restoreBench {
	rb := &restoreBench{
		b: b, src: newDevice(b, "A"), dst: newDevice(b, "B"),
		rng: rand.New(rand.NewPCG(restoreSeed, restoreRounds)), sums: map[string][]byte{},
	}
	rb.restic = newResticRepo(b, b.TempDir())
	rb.dst.ferry("folder", "set", "docs", "--keep", "forever")
	start := time.Now()
	for i := range restoreFiles {
		name := restoreFileName(i)
		writeLarge(b, rb.src.path(name), restoreSeed+uint64(i), restoreFileSize)
		rb.sums[name] = fileSum(b, rb.src.path(name))
	}
	pair(rb.src, rb.dst)
	flushWrites()
	rb.src.start()
	rb.dst.start()
	waitFor(b, 10*time.Minute, "ferry B holds the folder", func() bool {
		return ferryHolds(rb.src, rb.dst, restoreFiles*restoreFileSize)
	})
	synced := time.Since(start)
	rb.snaps = append(rb.snaps, rb.restic.backup(rb.src.folder))
	b.Logf("%d files of %d MiB written and synced in %.1f s; restic's first backup %.1f s",
		restoreFiles, restoreFileSize>>20, synced.Seconds(), time.Since(start).Seconds()-synced.Seconds())
	rb.moments = append(rb.moments, rb.moment())
	return rb
}

func restoreFileName(i int) string {
	return fmt.Sprintf("d%d/f%03d.bin", i%restoreDirs, i)
}

// fileSum is the sha256 of the file at path.
func fileSum(tb testing.TB, path string) []byte {
	tb.Helper()
	sum, err := trySum(path)
	if err != nil {
		tb.Fatal(err)
	}
	return sum
}

func trySum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// moment returns a time after everything so far and before anything next.
func (rb *restoreBench) moment() time.Time {
	time.Sleep(5 * time.Millisecond)
	t := time.Now()
	time.Sleep(5 * time.Millisecond)
	return t
}

// round edits a tenth of the files on A, waits until B holds them, takes
// a moment and a restic snapshot.
func (rb *restoreBench) round(round int) {
	b := rb.b
	start := time.Now()
	var edited []string
	for _, i := range rb.rng.Perm(restoreFiles)[:restorePerRound] {
		name := restoreFileName(i)
		writeEdits(b, rb.src.path(name), smallEdits(rb.rng, restoreFileSize, restoreEditRuns))
		rb.sums[name] = fileSum(b, rb.src.path(name))
		edited = append(edited, name)
	}
	rb.src.ferry("scan", "docs")
	pending := edited
	waitFor(b, 3*time.Minute, fmt.Sprintf("ferry B holds round %d", round), func() bool {
		pending = slices.DeleteFunc(pending, func(name string) bool {
			sum, err := trySum(rb.dst.path(name))
			return err == nil && bytes.Equal(sum, rb.sums[name])
		})
		if len(pending) > 0 {
			return false
		}
		f, ok := docsStatus(rb.dst)
		return ok && f.InSync && f.NeedFiles == 0
	})
	synced := time.Since(start)
	rb.moments = append(rb.moments, rb.moment())
	if round == restoreAtRound {
		rb.want = files(snapshot(b, rb.src.folder))
	}
	backup := time.Now()
	rb.snaps = append(rb.snaps, rb.restic.backup(rb.src.folder))
	b.Logf("round %2d: %d files edited and on B after %.2f s; restic backup %.2f s",
		round, len(edited), synced.Seconds(), time.Since(backup).Seconds())
}

// restoreSizes is the disk each side keeps, in bytes.
type restoreSizes struct {
	history, packs, live, restic int64
	other                        int64 // the rest of B's home: index, config, keys
	breakdown                    string
}

// sizes measures B's history and live folder and restic's repository.
func (rb *restoreBench) sizes() restoreSizes {
	var s restoreSizes
	hist := filepath.Join(rb.dst.home, "history")
	s.history, _ = treeBytes(rb.b, hist)
	s.packs, _ = treeBytes(rb.b, filepath.Join(hist, "blocks", "packs"))
	s.live, _ = treeBytes(rb.b, rb.dst.folder)
	s.restic, _ = treeBytes(rb.b, rb.restic.dir)
	home, _ := treeBytes(rb.b, rb.dst.home)
	s.other = home - s.history
	s.breakdown = historyBreakdown(rb.b, rb.dst)
	return s
}

// historyBreakdown says what d's history packs hold: how many blocks, how
// much data, and how much of that data d's live files hold too.
func historyBreakdown(tb testing.TB, d *device) string {
	tb.Helper()
	stored, err := packBlocks(filepath.Join(d.home, "history", "blocks", "packs"))
	if err != nil {
		return fmt.Sprintf("packs not read (%v)", err)
	}
	live := liveBlocks(tb, d.folder)
	var data, inLive int64
	for h, n := range stored {
		data += n
		if live[h] {
			inLive += n
		}
	}
	return fmt.Sprintf("packs hold %d blocks, %s of data, %s of it also in the live files",
		len(stored), fmtMiB(data), fmtMiB(inLive))
}

// packBlocks lists the blocks in ferry's pack files under dir with their
// data lengths, reading the records as index/blocks lays them out.
func packBlocks(dir string) (map[proto.Hash]int64, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.pack"))
	if err != nil {
		return nil, err
	}
	out := map[proto.Hash]int64{}
	for _, name := range names {
		if err := readPack(name, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readPack(name string, out map[proto.Hash]int64) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var head [16]byte
	if _, err := io.ReadFull(r, head[:]); err != nil || string(head[:8]) != "FRYPACK1" {
		return fmt.Errorf("%s: no pack header", name)
	}
	for {
		var rec [40]byte
		if _, err := io.ReadFull(r, rec[:]); err == io.EOF {
			return nil
		} else if err != nil || string(rec[:4]) != "FBLK" {
			return fmt.Errorf("%s: bad record (%v)", name, err)
		}
		n := int64(binary.BigEndian.Uint32(rec[4:8]))
		out[proto.Hash(rec[8:40])] = n
		if _, err := r.Discard(int(n)); err != nil {
			return fmt.Errorf("%s: short record: %w", name, err)
		}
	}
}

// liveBlocks cuts every file under root into ferry's blocks.
func liveBlocks(tb testing.TB, root string) map[proto.Hash]bool {
	tb.Helper()
	out := map[proto.Hash]bool{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		bs, err := chunker.Blocks(f, chunker.DefaultParams)
		for _, blk := range bs {
			out[blk.Hash] = true
		}
		return err
	})
	if err != nil {
		tb.Fatalf("blocks of %s: %v", root, err)
	}
	return out
}

// restoreTimes is how long each restore took: until the command returned,
// and until its writes were on disk as well.
type restoreTimes struct {
	ferry, ferrySync, restic, resticSync time.Duration
	bytes                                int64 // restored by each
	coldCache                            bool
}

// restores brings back the folder as it was after restoreAtRound, with
// ferry from B's history and with restic from its snapshot, each into a
// new directory, and checks both against the files of that moment.
func (rb *restoreBench) restores() restoreTimes {
	b := rb.b
	var t restoreTimes
	at := rb.moments[restoreAtRound].Format(time.RFC3339Nano)
	dir := b.TempDir()
	ferryDir, resticDir := filepath.Join(dir, "ferry"), filepath.Join(dir, "restic")
	t.coldCache = dropCaches()
	b.StartTimer()
	t.ferry, t.ferrySync = timed(func() { rb.dst.ferry("restore", "--folder", "docs", "--at", at, "--to", ferryDir) })
	b.StopTimer()
	if t.coldCache {
		dropCaches()
	}
	b.StartTimer()
	t.restic, t.resticSync = timed(func() { rb.restic.restore(rb.snaps[restoreAtRound], resticDir) })
	b.StopTimer()
	t.bytes, _ = treeBytes(b, ferryDir)
	for tool, root := range map[string]string{"ferry": ferryDir, "restic": resticDir} {
		if diff := compare(rb.want, files(snapshot(b, root))); diff != "" {
			b.Fatalf("%s restored into %s something else than the folder after round %d: %s",
				tool, root, restoreAtRound, diff)
		}
	}
	return t
}

// timed runs f and returns how long it took, and how long until a sync
// after it returned.
func timed(f func()) (ran, synced time.Duration) {
	start := time.Now()
	f()
	ran = time.Since(start)
	syscall.Sync()
	return ran, time.Since(start)
}

// dropCaches writes dirty pages out and empties the page cache; it reports
// whether it could (it needs root).
func dropCaches() bool {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200) == nil
}

// mbps is n bytes over d in MB/s.
func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

// report reports and logs the sizes and restore rates.
//
// The store's target compares like with like: restic's repository holds
// all 21 states of the folder, the current one included, while ferry holds
// the current one in the live folder and the older ones in its history, so
// the ratio for the target is (history + live folder) / repository. The
// history alone is reported too. The restore target compares how long each
// command took; ferry syncs every file it restores and restic does not, so
// the rates with a sync after the command are reported too.
func (rb *restoreBench) report(s restoreSizes, t restoreTimes) {
	b := rb.b
	both := s.history + s.live
	b.ReportMetric(float64(s.history), "ferry-history-bytes")
	b.ReportMetric(float64(both), "ferry-history+live-bytes")
	b.ReportMetric(float64(s.restic), "restic-repo-bytes")
	b.ReportMetric(ratio64(both, s.restic), "ferry-total/restic")
	b.ReportMetric(ratio64(s.history, s.restic), "ferry-history/restic")
	b.ReportMetric(mbps(t.bytes, t.ferry), "ferry-restore-MB/s")
	b.ReportMetric(mbps(t.bytes, t.restic), "restic-restore-MB/s")
	b.ReportMetric(ratio64(int64(t.restic), int64(t.ferry)), "ferry/restic-restore-speed")
	cache := "page cache dropped before each restore"
	if !t.coldCache {
		cache = "page cache NOT dropped (no permission): both restores may read from memory"
	}
	b.Logf("%d files of %d MiB, %d rounds editing %d files each (%d runs of 200-600 bytes per file):\n"+
		"  store                    %12s %12s\n"+
		"  ferry history            %12s %11.2fx\n"+
		"  ferry history + live     %12s %11.2fx   (target <= %.1fx: %s)\n"+
		"  restic repository        %12s %11.2fx\n"+
		"  ferry history: packs %s; %s; B's home besides the history %s\n"+
		"  restore of the folder after round %d, %s (%s):\n"+
		"                                   MB/s   MB/s with sync\n"+
		"  ferry restore            %10.0f %16.0f\n"+
		"  restic restore           %10.0f %16.0f\n"+
		"  ferry/restic restore speed %.2fx (target >= 1x: %s; %.2fx counting the sync)",
		restoreFiles, restoreFileSize>>20, restoreRounds, restorePerRound, restoreEditRuns,
		"bytes", "vs restic",
		fmtMiB(s.history), ratio64(s.history, s.restic),
		fmtMiB(both), ratio64(both, s.restic), restoreTarget, met(ratio64(both, s.restic) <= restoreTarget),
		fmtMiB(s.restic), 1.0,
		fmtMiB(s.packs), s.breakdown, fmtMiB(s.other),
		restoreAtRound, fmtMiB(t.bytes), cache,
		mbps(t.bytes, t.ferry), mbps(t.bytes, t.ferrySync),
		mbps(t.bytes, t.restic), mbps(t.bytes, t.resticSync),
		ratio64(int64(t.restic), int64(t.ferry)), met(t.ferry <= t.restic), ratio64(int64(t.resticSync), int64(t.ferrySync)))
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// resticPassword protects the benchmark's throwaway repositories.
const resticPassword = "ferry-bench"

// resticRepo is a local restic repository with its own cache directory.
type resticRepo struct {
	tb    testing.TB
	dir   string
	cache string
}

// newResticRepo initializes a repository under base with restic's
// defaults (repository version 2, compressed).
func newResticRepo(tb testing.TB, base string) *resticRepo {
	tb.Helper()
	needRestic(tb)
	r := &resticRepo{tb: tb, dir: filepath.Join(base, "repo"), cache: filepath.Join(base, "cache")}
	r.run("", "init")
	return r
}

// needRestic installs restic from Debian when it is missing, as `make
// bench-deps` does, and fails the benchmark when that is impossible: the
// restore benchmark means nothing without its baseline.
func needRestic(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("restic"); err == nil {
		return
	}
	cmd := exec.Command("sh", "-c", "apt-get update -qq && apt-get install -y -qq restic")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if _, lerr := exec.LookPath("restic"); lerr != nil {
		tb.Fatalf("restic is not installed (make bench-deps) and apt-get could not install it (%v): %s",
			err, strings.TrimSpace(tail(string(out), 500)))
	}
}

// run runs restic on the repository from dir and returns its stdout.
func (r *resticRepo) run(dir string, args ...string) []byte {
	r.tb.Helper()
	cmd := exec.Command("restic", append([]string{"--repo", r.dir, "--cache-dir", r.cache}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RESTIC_PASSWORD="+resticPassword)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		r.tb.Fatalf("restic %s: %v: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out
}

// backup backs up the tree at root, without ferry's own names, and
// returns the snapshot's id. Backing up "." from root puts the tree at the
// snapshot's top, so a restore writes it straight into its target.
func (r *resticRepo) backup(root string) string {
	r.tb.Helper()
	out := r.run(root, "backup", "--json", "--exclude", ".ferry*", ".")
	for line := range bytes.Lines(out) {
		var msg struct {
			Type string `json:"message_type"`
			ID   string `json:"snapshot_id"`
		}
		if json.Unmarshal(line, &msg) == nil && msg.Type == "summary" && msg.ID != "" {
			return msg.ID
		}
	}
	r.tb.Fatalf("restic backup printed no snapshot id: %s", tail(string(out), 2000))
	return ""
}

// restore restores snapshot id into target.
func (r *resticRepo) restore(id, target string) {
	r.tb.Helper()
	r.run("", "restore", id, "--target", target)
}
