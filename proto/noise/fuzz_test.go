package noise_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"ferry/proto/noise"
)

// FuzzServerHandshake plays arbitrary bytes as the initiator's side of a
// handshake. Without the responder's ephemeral key no input can complete
// it, so Server must always fail, and without hanging.
func FuzzServerHandshake(f *testing.F) {
	f.Add([]byte{})
	f.Add(append([]byte{0, 32}, make([]byte, 32)...))
	f.Add(append(append([]byte{0, 32}, make([]byte, 32)...), append([]byte{0, 64}, make([]byte, 64)...)...))
	f.Add([]byte{0xff, 0xff, 1, 2, 3})
	key := keypair(f, 2)
	f.Fuzz(func(t *testing.T, in []byte) {
		sc, raw := net.Pipe()
		go io.Copy(io.Discard, raw)
		go func() {
			raw.Write(in)
			raw.Close()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := noise.Server(ctx, sc, key, nil)
		if err == nil {
			c.Close()
			t.Fatal("handshake completed with arbitrary input")
		}
		if ctx.Err() != nil {
			t.Fatalf("handshake hung: %v", err)
		}
	})
}

// FuzzTransport writes arbitrary bytes into an established connection.
// None of them can authenticate, so Read must return no data, only an error.
func FuzzTransport(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 16})
	f.Add(append([]byte{0, 20}, make([]byte, 20)...))
	f.Add([]byte{0, 3, 1, 2, 3})
	ck, sk := keypair(f, 1), keypair(f, 2)
	f.Fuzz(func(t *testing.T, in []byte) {
		raw, sc := net.Pipe()
		c, s := handshake(context.Background(), raw, sc, ck, sk, nil, nil)
		if c.err != nil || s.err != nil {
			t.Fatalf("handshake: client %v, server %v", c.err, s.err)
		}
		defer s.conn.Close()
		go func() {
			raw.Write(in)
			raw.Close()
		}()
		buf := make([]byte, 1<<16)
		for {
			n, err := s.conn.Read(buf)
			if n > 0 {
				t.Fatalf("read %d bytes of arbitrary input as authentic", n)
			}
			if err != nil {
				return
			}
		}
	})
}
