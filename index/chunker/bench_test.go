package chunker

import (
	"bytes"
	"io"
	"testing"

	"github.com/zeebo/blake3"
)

const benchSize = 64 << 20

func BenchmarkRawBLAKE3(b *testing.B) {
	data := randBytes(42, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		blake3.Sum256(data)
	}
}

func BenchmarkChunkOnly(b *testing.B) {
	data := randBytes(42, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		c := New(bytes.NewReader(data), DefaultParams)
		for {
			if _, _, err := c.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkChunkAndHash(b *testing.B) {
	data := randBytes(42, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := Blocks(bytes.NewReader(data), DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}
