package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRescan rescans a folder of 20,000 small files (or
// FERRY_RESCAN_FILES) in directories of 100 that has not changed since it
// was indexed: the cost of a periodic scan, which reads every directory
// and compares each entry with its record.
func BenchmarkRescan(b *testing.B) {
	const perDir = 100
	dirs := 200
	if s := os.Getenv("FERRY_RESCAN_FILES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < perDir {
			b.Fatalf("FERRY_RESCAN_FILES=%q: want a number of files of at least %d", s, perDir)
		}
		dirs = n / perDir
	}
	dir := filepath.Join(b.TempDir(), "docs")
	for d := range dirs {
		sub := filepath.Join(dir, fmt.Sprintf("dir-%03d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range perDir {
			name := filepath.Join(sub, fmt.Sprintf("a-file-with-a-usual-name-%04d.txt", f))
			if err := os.WriteFile(name, fmt.Appendf(nil, "content %d %d", d, f), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := startNode(b, "a", map[string]string{"docs": dir})
	r := n.folders["docs"].runner
	ctx := context.Background()
	for deadline := time.Now().Add(time.Hour); r.status().LocalFiles != dirs*perDir+dirs; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the folder was not indexed within an hour")
		}
	}
	if err := r.scan(ctx, ""); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := r.scan(ctx, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(dirs*perDir), "ns/file")
}
