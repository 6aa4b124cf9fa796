package e2e

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The benchmark data set: a source tree of many small files plus a few
// large binary files, generated from one seed so every run syncs the same
// bytes.
const (
	datasetSeed     = 20250101
	smallTreeBytes  = 300 << 20 // small files are added until they reach this
	smallFileMin    = 1 << 10
	smallFileMax    = 64 << 10
	filesPerPackage = 100
	largeFileCount  = 3
	largeFileSize   = 256 << 20
)

// dataset is a generated tree and what it should look like after a sync.
type dataset struct {
	root string
	// scratch, if set, is where benchmark runs make their directories.
	scratch string
	files   int   // regular files
	bytes   int64 // sum of file sizes
	want    map[string]node
}

// makeDataset writes the data set under root and snapshots it.
func makeDataset(tb testing.TB, root string) dataset {
	tb.Helper()
	ds := dataset{root: root}
	rng := rand.New(rand.NewPCG(datasetSeed, datasetSeed>>1))
	for i := 0; ds.bytes < smallTreeBytes; i++ {
		size := smallFileSize(rng)
		mode := os.FileMode(0o644)
		if i%53 == 0 {
			mode = 0o755
		}
		writeFile(tb, filepath.Join(root, smallFileName(i)), chachaBytes(uint64(i), size), mode)
		ds.files++
		ds.bytes += int64(size)
	}
	for i := range largeFileCount {
		name := filepath.Join(root, "assets", fmt.Sprintf("large-%d.bin", i))
		writeLarge(tb, name, uint64(1_000_000+i), largeFileSize)
		ds.files++
		ds.bytes += largeFileSize
	}
	ds.want = snapshot(tb, root)
	return ds
}

// smallFileSize draws a size between smallFileMin and smallFileMax,
// log-uniformly, so most files are small as in a source tree.
func smallFileSize(rng *rand.Rand) int {
	ratio := float64(smallFileMax) / float64(smallFileMin)
	return int(float64(smallFileMin) * math.Pow(ratio, rng.Float64()))
}

// smallFileName nests files as module/package/subdir/file.
func smallFileName(i int) string {
	pkg := i / filesPerPackage
	return fmt.Sprintf("src/mod%02d/pkg%03d/sub%d/file%05d.go", pkg/10, pkg, i%3, i)
}

// chachaBytes returns n deterministic random bytes for seed.
func chachaBytes(seed uint64, n int) []byte {
	buf := make([]byte, n)
	chachaFor(seed).Read(buf)
	return buf
}

func chachaFor(seed uint64) *rand.ChaCha8 {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(key)
}

// writeLarge streams size random bytes for seed into name.
func writeLarge(tb testing.TB, name string, seed uint64, size int64) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	src := chachaFor(seed)
	buf := make([]byte, 4<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		chunk := buf[:min(int64(len(buf)), left)]
		src.Read(chunk)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			tb.Fatalf("write %s: %v", name, err)
		}
	}
	if err := f.Close(); err != nil {
		tb.Fatalf("close %s: %v", name, err)
	}
}

// copyTree fills dst (which may exist) with a copy of src. It copies rather
// than hard-links so that a tool changing its source folder's files cannot
// change the data set the next run starts from.
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	out, err := exec.Command("cp", "-a", "--reflink=auto", src+"/.", dst+"/").CombinedOutput()
	if err != nil {
		tb.Fatalf("cp -a %s %s: %v: %s", src, dst, err, out)
	}
}

// verifyTree fails when root does not hold exactly want; names in skip (a
// tool's own marker files) are left out of the comparison. On a mismatch
// it says how many entries differ and whether they still do a few seconds
// later, which tells a slow status from a wrong tree.
func verifyTree(tb testing.TB, want map[string]node, root string, onFail func(), skip ...string) {
	tb.Helper()
	diffs := treeDiffs(tb, want, root, skip)
	if len(diffs) == 0 {
		return
	}
	time.Sleep(5 * time.Second)
	later := treeDiffs(tb, want, root, skip)
	if onFail != nil {
		onFail()
	}
	tb.Fatalf("%s does not match the data set: %d entries differ (%d still 5 s later), first: %s",
		root, len(diffs), len(later), strings.Join(diffs[:min(len(diffs), 5)], "; "))
}

// treeDiffs lists how root differs from want, sorted by name.
func treeDiffs(tb testing.TB, want map[string]node, root string, skip []string) []string {
	tb.Helper()
	got := snapshot(tb, root)
	for _, name := range skip {
		delete(got, name)
	}
	var diffs []string
	for name, w := range want {
		if g, ok := got[name]; !ok {
			diffs = append(diffs, name+" missing")
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%s: want %s, got %s", name, describeNode(w), describeNode(g)))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, name+" unexpected")
		}
	}
	slices.Sort(diffs)
	return diffs
}

func describeNode(n node) string {
	s := fmt.Sprintf("%s %v", n.kind, n.mode)
	if n.kind == "file" {
		s += fmt.Sprintf(" mtime %d sha256 %x", n.mtime, n.sum[:4])
	}
	return s
}

// insertByte returns data with one byte inserted at off.
func insertByte(data []byte, off int, c byte) []byte {
	out := make([]byte, 0, len(data)+1)
	out = append(out, data[:off]...)
	out = append(out, c)
	return append(out, data[off:]...)
}

// sameContent reports whether the file at path holds exactly want.
func sameContent(path string, want []byte) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != int64(len(want)) {
		return false
	}
	got, err := os.ReadFile(path)
	return err == nil && bytes.Equal(got, want)
}

// lockedBuffer collects a child process's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
