package noise_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	flynn "github.com/flynn/noise"

	"ferry/proto"
	"ferry/proto/noise"
)

// TestTamperedHandshake flips every byte of every handshake message, in
// both directions, and expects the handshake to fail on at least one side,
// promptly (without waiting for the timeout).
func TestTamperedHandshake(t *testing.T) {
	type direction struct {
		name  string
		bytes int
		set   func(tc *tamperConn, i int)
	}
	dirs := []direction{
		{"client to server", clientHandshakeBytes, func(tc *tamperConn, i int) { tc.flipWrite = i }},
		{"server to client", serverHandshakeBytes, func(tc *tamperConn, i int) { tc.flipRead = i }},
	}
	for _, d := range dirs {
		for _, mask := range []byte{0xff, 0x80} {
			for i := range d.bytes {
				c, s := tamperedHandshake(t, mask, func(tc *tamperConn) { d.set(tc, i) })
				if c.err == nil && s.err == nil {
					t.Fatalf("%s, byte %d ^ %#x: handshake succeeded", d.name, i, mask)
				}
				if errors.Is(c.err, context.DeadlineExceeded) || errors.Is(s.err, context.DeadlineExceeded) {
					t.Fatalf("%s, byte %d ^ %#x: failed only by timeout: %v / %v", d.name, i, mask, c.err, s.err)
				}
			}
		}
	}
	// The same harness without a flip must succeed, or the test proves nothing.
	if c, s := tamperedHandshake(t, 0xff, func(*tamperConn) {}); c.err != nil || s.err != nil {
		t.Fatalf("untampered handshake: client %v, server %v", c.err, s.err)
	}
}

func tamperedHandshake(t *testing.T, mask byte, set func(*tamperConn)) (client, server result) {
	cc, sc := net.Pipe()
	tc := &tamperConn{Conn: cc, mask: mask, flipRead: -1, flipWrite: -1}
	set(tc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, server = handshake(ctx, tc, sc, keypair(t, 1), keypair(t, 2), nil, nil)
	for _, r := range []result{client, server} {
		if r.conn != nil {
			r.conn.Close()
		}
	}
	return client, server
}

func TestPrologue(t *testing.T) {
	tests := []struct {
		name           string
		client, server []byte
		ok             bool
	}{
		{"default", nil, nil, true},
		{"explicit default", []byte(noise.Prologue), nil, true},
		{"same custom", []byte("ferry-pair/1"), []byte("ferry-pair/1"), true},
		{"other version", nil, []byte("ferry/2"), false},
		{"other protocol", []byte("ferry-pair/1"), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := net.Pipe()
			c, s := handshake(context.Background(), cc, sc, keypair(t, 1), keypair(t, 2), tt.client, tt.server)
			if tt.ok && (c.err != nil || s.err != nil) {
				t.Fatalf("client %v, server %v", c.err, s.err)
			}
			if !tt.ok && (c.err == nil || s.err == nil) {
				t.Fatalf("mismatched prologues: client %v, server %v; want both to fail", c.err, s.err)
			}
		})
	}
}

func TestMismatchedKeypair(t *testing.T) {
	bad := keypair(t, 1)
	bad.Public = keypair(t, 2).Public
	cc, sc := net.Pipe()
	defer sc.Close()
	_, err := noise.Client(context.Background(), cc, bad, nil)
	if !errors.Is(err, noise.ErrKeyMismatch) {
		t.Fatalf("got %v, want ErrKeyMismatch", err)
	}
	if _, err := cc.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("conn not closed after a failed handshake: %v", err)
	}
}

// TestHandshakeTimeout runs against a peer that never answers, in a bubble
// with a fake clock.
func TestHandshakeTimeout(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		t.Run(side, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				conn, silent := net.Pipe()
				defer silent.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				start := time.Now()
				run := noise.Client
				if side == "server" {
					run = noise.Server
				}
				_, err := run(ctx, conn, keypair(t, 1), nil)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("got %v, want context.DeadlineExceeded", err)
				}
				if d := time.Since(start); d != 5*time.Second {
					t.Fatalf("gave up after %v, want 5s", d)
				}
			})
		})
	}
}

func TestHandshakeCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn, silent := net.Pipe()
		defer silent.Close()
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		if _, err := noise.Client(ctx, conn, keypair(t, 1), nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

// TestHandshakeClearsDeadline checks that the context's deadline does not
// outlive the handshake.
func TestHandshakeClearsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, sc := net.Pipe()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		c, s := handshake(ctx, cc, sc, keypair(t, 1), keypair(t, 2), nil, nil)
		if c.err != nil || s.err != nil {
			t.Fatalf("handshake: client %v, server %v", c.err, s.err)
		}
		defer c.conn.Close()
		defer s.conn.Close()
		time.Sleep(time.Minute)
		exchange(t, c.conn, s.conn, []byte("after the deadline"))
	})
}

func TestHandshakeTimeoutTCP(t *testing.T) {
	conn, silent := loopback(t)
	defer silent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := noise.Client(ctx, conn, keypair(t, 1), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
}

func TestGenerateKeypair(t *testing.T) {
	a, b := keypair(t, 7), keypair(t, 7)
	if a != b {
		t.Fatal("the same seed gave different keys")
	}
	priv, err := ecdh.X25519().NewPrivateKey(a.Private[:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(priv.PublicKey().Bytes(), a.Public[:]) {
		t.Fatal("public key differs from crypto/ecdh's")
	}
	r1, err := noise.GenerateKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	if r1 == a || r1.Public == ([32]byte{}) {
		t.Fatal("random key pair looks wrong")
	}
	if _, err := noise.GenerateKeypair(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("short random source accepted")
	}
}

// TestECDHKeys uses keys made by crypto/ecdh for both sides.
func TestECDHKeys(t *testing.T) {
	var keys [2]noise.Keypair
	var ids [2]proto.DeviceID
	for i := range keys {
		priv, err := ecdh.X25519().GenerateKey(cryptorand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if keys[i], err = noise.KeypairFromPrivate([32]byte(priv.Bytes())); err != nil {
			t.Fatal(err)
		}
		ids[i] = proto.DeviceID(priv.PublicKey().Bytes())
	}
	cc, sc := net.Pipe()
	c, s := handshake(context.Background(), cc, sc, keys[0], keys[1], nil, nil)
	if c.err != nil || s.err != nil {
		t.Fatalf("handshake: client %v, server %v", c.err, s.err)
	}
	defer c.conn.Close()
	defer s.conn.Close()
	if s.conn.RemoteStatic() != ids[0] || c.conn.RemoteStatic() != ids[1] {
		t.Fatal("device IDs differ from the crypto/ecdh public keys")
	}
}

// TestInterop checks Client and its transport against a responder written
// directly with github.com/flynn/noise, as the Noise specification has it.
func TestInterop(t *testing.T) {
	cc, sc := net.Pipe()
	defer sc.Close()
	key := keypair(t, 2)
	done := make(chan error, 1)
	go func() { done <- flynnResponder(sc, key) }()
	c, err := noise.Client(context.Background(), cc, keypair(t, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 4)
	if _, err := io.ReadFull(c, reply); err != nil || string(reply) != "pong" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func flynnResponder(conn net.Conn, key noise.Keypair) error {
	hs, err := flynn.NewHandshakeState(flynn.Config{
		CipherSuite:   flynn.NewCipherSuite(flynn.DH25519, flynn.CipherAESGCM, flynn.HashSHA256),
		Pattern:       flynn.HandshakeXX,
		Prologue:      []byte("ferry/1"),
		StaticKeypair: flynn.DHKey{Private: key.Private[:], Public: key.Public[:]},
	})
	if err != nil {
		return err
	}
	if _, _, _, err := hs.ReadMessage(nil, readFrame(conn)); err != nil {
		return err
	}
	msg, _, _, err := hs.WriteMessage(nil, nil)
	if err != nil {
		return err
	}
	writeFrame(conn, msg)
	_, fromClient, toClient, err := hs.ReadMessage(nil, readFrame(conn))
	if err != nil {
		return err
	}
	ping, err := fromClient.Decrypt(nil, nil, readFrame(conn))
	if err != nil || string(ping) != "ping" {
		return errors.Join(errors.New("bad ping"), err)
	}
	pong, err := toClient.Encrypt(nil, nil, []byte("pong"))
	if err != nil {
		return err
	}
	writeFrame(conn, pong)
	return nil
}

func readFrame(r io.Reader) []byte {
	var n [2]byte
	io.ReadFull(r, n[:])
	b := make([]byte, binary.BigEndian.Uint16(n[:]))
	io.ReadFull(r, b)
	return b
}

func writeFrame(w io.Writer, b []byte) {
	w.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
}
