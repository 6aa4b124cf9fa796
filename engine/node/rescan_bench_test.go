package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRescan rescans a folder of 20,000 small files in 200
// directories that has not changed since it was indexed: the cost of a
// periodic scan, which reads every directory and compares each entry with
// its record.
func BenchmarkRescan(b *testing.B) {
	const dirs, perDir = 200, 100
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
	waitUntil(b, func() bool { return r.status().LocalFiles == dirs*perDir+dirs })
	if err := r.scan(ctx, ""); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := r.scan(ctx, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(dirs*perDir), "ns/file")
}
