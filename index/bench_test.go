package index

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"ferry/index/chunker"
	"ferry/proto"
)

// BenchmarkPutLocalBatch commits transactions of 1000 local records with 4
// blocks each: "new" adds names, "replace" rewrites the same 1000 names (so
// each record's old sequence key and block map entries are removed too).
func BenchmarkPutLocalBatch(b *testing.B) {
	const batch = 1000
	for _, replace := range []bool{false, true} {
		b.Run(map[bool]string{false: "new", true: "replace"}[replace], func(b *testing.B) {
			db, _ := openTemp(b)
			f := mustFolder(b, db, "bench")
			seq := int64(0)
			for b.Loop() {
				err := f.Update(func(tx *Tx) error {
					for i := range batch {
						seq++
						n := seq
						if replace {
							n = int64(i)
						}
						if err := tx.PutLocal(benchRecord(n, seq)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(seq)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func benchRecord(n, seq int64) proto.FileInfo {
	f := proto.FileInfo{
		Name:       fmt.Sprintf("photos/2024/%03d/IMG_%07d.jpg", n%997, n),
		Type:       proto.FileTypeFile,
		Size:       4 << 16,
		ModTime:    1_700_000_000_000_000_000 + seq,
		Mode:       0o644,
		Version:    proto.Vector{{ID: 0x1234, Value: uint64(seq)}},
		Sequence:   seq,
		ModifiedBy: 0x1234,
		Inode:      uint64(n),
	}
	for i := range 4 {
		id := binary.BigEndian.AppendUint64(nil, uint64(seq)<<2|uint64(i))
		f.Blocks = append(f.Blocks, proto.Block{Offset: int64(i) << 16, Size: 1 << 16, Hash: chunker.HashBlock(id)})
	}
	return f
}

// BenchmarkOpen opens an index of 100,000 records, 4 blocks each: "plain"
// is Open, "checked" is OpenChecked, which also reads every page.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "index.db")
	db, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	f := mustFolder(b, db, "bench")
	for start := int64(0); start < 100_000; start += 10_000 {
		err := f.Update(func(tx *Tx) error {
			for n := start; n < start+10_000; n++ {
				if err := tx.PutLocal(benchRecord(n, n+1)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	for _, checked := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "checked"}[checked], func(b *testing.B) {
			for b.Loop() {
				var db *DB
				var err error
				if checked {
					db, _, err = OpenChecked(path, time.Now())
				} else {
					db, err = Open(path)
				}
				if err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
		})
	}
}
