package noise_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"ferry/proto/noise"
)

// keypair returns a reproducible key pair.
func keypair(t testing.TB, seed uint64) noise.Keypair {
	t.Helper()
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	k, err := noise.GenerateKeypair(rand.NewChaCha8(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// transport makes two connected net.Conns.
type transport func(t testing.TB) (client, server net.Conn)

func pipe(testing.TB) (net.Conn, net.Conn) { return net.Pipe() }

func loopback(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() // a failure shows as a nil server conn
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	return client, server
}

var transports = map[string]transport{"pipe": pipe, "tcp": loopback}

type result struct {
	conn *noise.Conn
	err  error
}

// handshake runs Client on cc and Server on sc at once and returns both
// outcomes.
func handshake(ctx context.Context, cc, sc net.Conn, ck, sk noise.Keypair, cp, sp []byte) (client, server result) {
	done := make(chan result, 1)
	go func() {
		c, err := noise.Server(ctx, sc, sk, sp)
		done <- result{c, err}
	}()
	c, err := noise.Client(ctx, cc, ck, cp)
	return result{c, err}, <-done
}

// connect returns a client and a server Conn joined by tr.
func connect(t testing.TB, tr transport) (client, server *noise.Conn) {
	t.Helper()
	cc, sc := tr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, s := handshake(ctx, cc, sc, keypair(t, 1), keypair(t, 2), nil, nil)
	if c.err != nil || s.err != nil {
		t.Fatalf("handshake: client %v, server %v", c.err, s.err)
	}
	t.Cleanup(func() { c.conn.Close(); s.conn.Close() })
	return c.conn, s.conn
}

func TestRoundTrip(t *testing.T) {
	for name, tr := range transports {
		t.Run(name, func(t *testing.T) {
			client, server := connect(t, tr)
			if client.RemoteStatic() != keypair(t, 2).ID() || server.RemoteStatic() != keypair(t, 1).ID() {
				t.Fatal("remote static keys do not match the peers' keys")
			}
			if client.LocalStatic() != server.RemoteStatic() || server.LocalStatic() != client.RemoteStatic() {
				t.Fatal("local and remote static keys disagree")
			}
			exchange(t, client, server, []byte("hello"))
			exchange(t, server, client, []byte("hello back"))
			exchange(t, client, server, randomBytes(10<<20))
			exchange(t, server, client, randomBytes(3*65519+7))
		})
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(n)}).Read(b)
	return b
}

// exchange writes data on w in one call and reads it from r in pieces of
// varying size, small and large, so that both decryption paths run.
func exchange(t *testing.T, w, r net.Conn, data []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		n, err := w.Write(data)
		if err == nil && n != len(data) {
			err = fmt.Errorf("wrote %d of %d bytes", n, len(data))
		}
		errc <- err
	}()
	got := make([]byte, len(data))
	rng := rand.New(rand.NewPCG(uint64(len(data)), 0))
	for off := 0; off < len(got); {
		size := min(len(got)-off, 1+rng.IntN(200_000))
		n, err := r.Read(got[off : off+size])
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		off += n
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes differ from those sent", len(data))
	}
}

func TestEmptyWrite(t *testing.T) {
	client, server := connect(t, pipe)
	if n, err := client.Write(nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v", n, err)
	}
	if n, err := server.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
	exchange(t, client, server, []byte("x"))
}

// TestConcurrentWriters checks that each Write's bytes stay together when
// several goroutines write at once.
func TestConcurrentWriters(t *testing.T) {
	client, server := connect(t, loopback)
	const writers, records = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for seq := range records {
				rec := record(w, seq, (seq*7919)%150_000)
				if _, err := client.Write(rec); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	next := make([]int, writers)
	for range writers * records {
		var head [9]byte
		if _, err := io.ReadFull(server, head[:]); err != nil {
			t.Fatal(err)
		}
		w, seq, size := int(head[0]), int(binary.BigEndian.Uint32(head[1:])), int(binary.BigEndian.Uint32(head[5:]))
		if w >= writers || seq != next[w] {
			t.Fatalf("record from writer %d seq %d, want seq %d", w, seq, next[w])
		}
		next[w]++
		body := make([]byte, size)
		if _, err := io.ReadFull(server, body); err != nil {
			t.Fatal(err)
		}
		if want := record(w, seq, size); !bytes.Equal(body, want[9:]) {
			t.Fatalf("record %d/%d corrupted", w, seq)
		}
	}
	wg.Wait()
}

// record returns a 9-byte header (writer, sequence, size) and size bytes
// derived from writer and sequence.
func record(w, seq, size int) []byte {
	rec := make([]byte, 9+size)
	rec[0] = byte(w)
	binary.BigEndian.PutUint32(rec[1:], uint32(seq))
	binary.BigEndian.PutUint32(rec[5:], uint32(size))
	for i := range size {
		rec[9+i] = byte(w*31 + seq + i)
	}
	return rec
}

// tamperConn flips the byte at offset flipWrite of the written stream and at
// offset flipRead of the read stream (-1: none), and keeps what was written.
type tamperConn struct {
	net.Conn
	mask                byte
	flipRead, flipWrite int
	read, wrote         int
	mu                  sync.Mutex
	sent                []byte
}

func (c *tamperConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if i := c.flipRead - c.read; i >= 0 && i < n {
		p[i] ^= c.mask
	}
	c.read += n
	return n, err
}

func (c *tamperConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	q := bytes.Clone(p)
	if i := c.flipWrite - c.wrote; i >= 0 && i < len(q) {
		q[i] ^= c.mask
	}
	c.wrote += len(q)
	c.sent = append(c.sent, q...)
	c.mu.Unlock()
	return c.Conn.Write(q)
}

// Stream lengths of the handshake: messages 1 and 3 from the client, 2 from
// the server, each with its 2-byte length.
const clientHandshakeBytes, serverHandshakeBytes = 2 + 32 + 2 + 64, 2 + 96

func TestGarbageTransport(t *testing.T) {
	tests := []struct {
		name string
		send func(c *noise.Conn, raw net.Conn, tc *tamperConn) // sends something bad
		want error
	}{
		{"flipped ciphertext byte", func(c *noise.Conn, raw net.Conn, tc *tamperConn) {
			tc.flipWrite = clientHandshakeBytes + 2 + 3
			c.Write([]byte("hello"))
		}, noise.ErrDecrypt},
		{"flipped length", func(c *noise.Conn, raw net.Conn, tc *tamperConn) {
			tc.flipWrite = clientHandshakeBytes + 1 // the length grows past the message
			c.Write([]byte("hello, world, a longer message"))
			c.Write(make([]byte, 300))
		}, noise.ErrDecrypt},
		{"garbage message", func(c *noise.Conn, raw net.Conn, tc *tamperConn) {
			raw.Write(append([]byte{0, 40}, randomBytes(40)...))
		}, noise.ErrDecrypt},
		{"message shorter than a tag", func(c *noise.Conn, raw net.Conn, tc *tamperConn) {
			raw.Write([]byte{0, 5, 1, 2, 3, 4, 5})
		}, noise.ErrDecrypt},
		{"replayed message", func(c *noise.Conn, raw net.Conn, tc *tamperConn) {
			c.Write([]byte("once"))
			tc.mu.Lock()
			msg := bytes.Clone(tc.sent[clientHandshakeBytes:])
			tc.mu.Unlock()
			raw.Write(msg)
		}, noise.ErrDecrypt},
		{"cut short", func(c *noise.Conn, raw net.Conn, tc *tamperConn) {
			raw.Write([]byte{0, 40, 1, 2, 3})
			raw.Close()
		}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, sc := net.Pipe()
			tc := &tamperConn{Conn: raw, mask: 0xff, flipRead: -1, flipWrite: -1}
			c, s := handshake(context.Background(), tc, sc, keypair(t, 1), keypair(t, 2), nil, nil)
			if c.err != nil || s.err != nil {
				t.Fatalf("handshake: client %v, server %v", c.err, s.err)
			}
			defer c.conn.Close()
			go tt.send(c.conn, raw, tc)
			err := readUntilError(s.conn)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if _, again := s.conn.Read(make([]byte, 10)); !errors.Is(again, tt.want) {
				t.Fatalf("second read: got %v, want the same error", again)
			}
		})
	}
}

// readUntilError reads from c until it fails and returns the error.
func readUntilError(c net.Conn) error {
	buf := make([]byte, 100)
	for {
		if _, err := c.Read(buf); err != nil {
			return err
		}
	}
}

func TestConnUnusableAfterDecryptError(t *testing.T) {
	raw, sc := net.Pipe()
	c, s := handshake(context.Background(), raw, sc, keypair(t, 1), keypair(t, 2), nil, nil)
	if c.err != nil || s.err != nil {
		t.Fatalf("handshake: client %v, server %v", c.err, s.err)
	}
	defer c.conn.Close()
	go raw.Write(append([]byte{0, 20}, make([]byte, 20)...))
	if _, err := s.conn.Read(make([]byte, 10)); !errors.Is(err, noise.ErrDecrypt) {
		t.Fatalf("got %v, want ErrDecrypt", err)
	}
	if _, err := s.conn.Write([]byte("x")); err == nil {
		t.Fatal("write succeeded after a decrypt failure")
	}
}

// TestReadDeadlineIsNotFinal checks that Read works again after a timeout.
func TestReadDeadlineIsNotFinal(t *testing.T) {
	client, server := connect(t, pipe)
	server.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a timeout", err)
	}
	server.SetReadDeadline(time.Time{})
	exchange(t, client, server, []byte("still here"))
}
