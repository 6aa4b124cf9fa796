package noise_test

import (
	"context"
	"io"
	"net"
	"testing"

	"ferry/proto"
)

// The throughput benchmarks count the time until the reader has received
// everything, so they use b.N loops rather than b.Loop, whose timer stops
// as soon as the writer is done.

// BenchmarkConnThroughput writes 128 KiB at a time over loopback TCP and
// reads it on the other side.
func BenchmarkConnThroughput(b *testing.B) {
	client, server := connect(b, loopback)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 128<<10)
		for {
			if _, err := server.Read(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	buf := make([]byte, 128<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := client.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	client.Close()
	if err := <-done; err != io.EOF {
		b.Fatal(err)
	}
}

// BenchmarkResponseOverNoise sends 128 KiB block responses through the
// message codec over a Noise connection on loopback TCP: the path a block
// takes in a real transfer.
func BenchmarkResponseOverNoise(b *testing.B) {
	client, server := connect(b, loopback)
	resp := &proto.Response{ID: 1, Data: make([]byte, 128<<10)}
	done := make(chan error, 1)
	go func() {
		mr := proto.NewMessageReader(server)
		for {
			if _, err := mr.Read(); err != nil {
				done <- err
				return
			}
		}
	}()
	b.SetBytes(int64(len(resp.Data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := proto.WriteMessage(client, resp); err != nil {
			b.Fatal(err)
		}
	}
	client.Close()
	if err := <-done; err != io.EOF {
		b.Fatal(err)
	}
}

// BenchmarkHandshake runs complete XX handshakes, both sides, over
// in-memory pipes.
func BenchmarkHandshake(b *testing.B) {
	ck, sk := keypair(b, 1), keypair(b, 2)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		cc, sc := net.Pipe()
		c, s := handshake(ctx, cc, sc, ck, sk, nil, nil)
		if c.err != nil || s.err != nil {
			b.Fatal(c.err, s.err)
		}
		c.conn.Close()
		s.conn.Close()
	}
}
