package index

import (
	"encoding/binary"
	"fmt"
	"testing"

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
