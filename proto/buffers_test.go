package proto

import "testing"

func TestBuffers(t *testing.T) {
	for _, n := range []int{1, 100, 4096, 4097, 65536, 100_000, 256 << 10, 256<<10 + 1, 16 << 20} {
		b := GetBuffer(n)
		if len(b) != n {
			t.Fatalf("GetBuffer(%d) has length %d", n, len(b))
		}
		for i := range b {
			b[i] = 0xaa
		}
		PutBuffer(b)
		c := GetBuffer(n)
		if len(c) != n || cap(c) < n {
			t.Fatalf("GetBuffer(%d) after a put: len %d cap %d", n, len(c), cap(c))
		}
		PutBuffer(c)
	}
	// A buffer whose capacity fits no pool exactly is left to the GC.
	PutBuffer(make([]byte, 5000))
	if b := GetBuffer(5000); cap(b) != 8192 {
		t.Fatalf("GetBuffer(5000) has capacity %d, want 8192", cap(b))
	}
}

func BenchmarkGetPutBuffer(b *testing.B) {
	for b.Loop() {
		PutBuffer(GetBuffer(64 << 10))
	}
}
