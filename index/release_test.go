package index

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"ferry/proto"
)

// rssFileKiB is this process's file-backed resident memory.
func rssFileKiB(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// Reading a large index maps its pages into the process; ReleaseMemory
// takes them out of its resident memory, and the index still reads.
func TestReleaseMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("resident memory by kind is read from Linux's /proc")
	}
	db, _ := openTemp(t)
	f := mustFolder(t, db, "docs")
	const files = 40_000
	target := strings.Repeat("t", 900) // about 1 KiB a record
	for start := 0; start < files; start += 10_000 {
		err := f.Update(func(tx *Tx) error {
			for i := start; i < start+10_000; i++ {
				rec := proto.FileInfo{Name: fmt.Sprintf("dir/link-%06d", i), Type: proto.FileTypeSymlink, Target: target, Sequence: int64(i + 1), Version: proto.Vector{{ID: 1, Value: 1}}}
				if err := tx.PutLocal(rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk := func() {
		n := 0
		if err := f.EachLocal(func(proto.FileInfo) error { n++; return nil }); err != nil || n != files {
			t.Fatalf("walk: %d records, %v", n, err)
		}
	}
	walk()
	before := rssFileKiB(t)
	if err := db.ReleaseMemory(); err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	if before-after < 20<<10 {
		t.Fatalf("file-backed resident memory %d KiB before the release, %d after: want at least 20 MiB less", before, after)
	}
	walk()
	if again := rssFileKiB(t); again-after < 20<<10 {
		t.Fatalf("a walk after the release maps %d KiB; want the pages back", again-after)
	}
}
