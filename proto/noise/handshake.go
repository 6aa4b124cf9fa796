package noise

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/flynn/noise"
)

// Prologue binds the protocol name and version into every handshake; Client
// and Server use it when given a nil prologue.
const Prologue = "ferry/1"

// maxHandshakeMsg is the longest handshake message (the second).
const maxHandshakeMsg = 96

// handshakeMsgLen is the exact length of handshake message i (0, 1, 2) of
// XX with 25519 keys, a 16-byte tag and empty payloads.
func handshakeMsgLen(i int) int {
	const dh, tag = 32, 16
	switch i {
	case 0:
		return dh // e
	case 1:
		return dh + dh + tag + tag // e, ee, s, es, payload
	}
	return dh + tag + tag // s, se, payload
}

// Client runs the initiator side of the handshake over conn with the static
// key pair key and returns the secured connection. A nil prologue means
// Prologue; both sides must use the same one. The handshake ends when ctx
// does: its deadline becomes conn's deadline, its cancellation interrupts
// any read or write, and on return conn has no deadline. On error conn is
// closed.
func Client(ctx context.Context, conn net.Conn, key Keypair, prologue []byte) (*Conn, error) {
	return handshake(ctx, conn, key, prologue, true)
}

// Server runs the responder side of the handshake; see Client.
func Server(ctx context.Context, conn net.Conn, key Keypair, prologue []byte) (*Conn, error) {
	return handshake(ctx, conn, key, prologue, false)
}

func handshake(ctx context.Context, conn net.Conn, key Keypair, prologue []byte, initiator bool) (c *Conn, err error) {
	defer func() {
		if err != nil {
			conn.Close()
			err = fmt.Errorf("noise handshake: %w", err)
		}
	}()
	if err := key.check(); err != nil {
		return nil, err
	}
	if prologue == nil {
		prologue = []byte(Prologue)
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   noise.NewCipherSuite(noise.DH25519, noise.CipherAESGCM, noise.HashSHA256),
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		Prologue:      prologue,
		StaticKeypair: noise.DHKey{Private: key.Private[:], Public: key.Public[:]},
	})
	if err != nil {
		return nil, err
	}
	release, err := bindContext(ctx, conn)
	if err != nil {
		return nil, err
	}
	send, recv, err := exchange(conn, hs, initiator)
	if rerr := release(); err == nil {
		err = rerr
	}
	if err != nil {
		return nil, ContextError(ctx, err)
	}
	return newConn(conn, key, hs.PeerStatic(), send, recv)
}

// exchange runs the three handshake messages and returns the cipher states
// for sending and receiving.
func exchange(conn net.Conn, hs *noise.HandshakeState, initiator bool) (send, recv *noise.CipherState, err error) {
	var buf [2 + maxHandshakeMsg]byte
	for i := range 3 {
		var cs1, cs2 *noise.CipherState
		if (i%2 == 0) == initiator {
			cs1, cs2, err = writeHandshake(conn, hs, i, buf[:])
		} else {
			cs1, cs2, err = readHandshake(conn, hs, i, buf[:])
		}
		if err != nil {
			return nil, nil, err
		}
		if cs1 != nil { // the last message splits the keys
			if initiator {
				return cs1, cs2, nil
			}
			return cs2, cs1, nil
		}
	}
	return nil, nil, errors.New("handshake did not complete") // unreachable with XX
}

func writeHandshake(conn net.Conn, hs *noise.HandshakeState, i int, buf []byte) (cs1, cs2 *noise.CipherState, err error) {
	msg, cs1, cs2, err := hs.WriteMessage(buf[:2], nil)
	if err != nil {
		return nil, nil, fmt.Errorf("message %d: %w", i+1, err)
	}
	if len(msg)-2 != handshakeMsgLen(i) {
		return nil, nil, fmt.Errorf("message %d: length %d, want %d", i+1, len(msg)-2, handshakeMsgLen(i))
	}
	binary.BigEndian.PutUint16(msg, uint16(len(msg)-2))
	if _, err := conn.Write(msg); err != nil {
		return nil, nil, fmt.Errorf("write message %d: %w", i+1, err)
	}
	return cs1, cs2, nil
}

func readHandshake(conn net.Conn, hs *noise.HandshakeState, i int, buf []byte) (cs1, cs2 *noise.CipherState, err error) {
	if _, err := io.ReadFull(conn, buf[:2]); err != nil {
		return nil, nil, fmt.Errorf("read message %d: %w", i+1, err)
	}
	n := int(binary.BigEndian.Uint16(buf))
	if n != handshakeMsgLen(i) {
		return nil, nil, fmt.Errorf("message %d: length %d, want %d", i+1, n, handshakeMsgLen(i))
	}
	if _, err := io.ReadFull(conn, buf[:n]); err != nil {
		return nil, nil, fmt.Errorf("read message %d: %w", i+1, err)
	}
	if _, cs1, cs2, err = hs.ReadMessage(nil, buf[:n]); err != nil {
		return nil, nil, fmt.Errorf("message %d: %w", i+1, err)
	}
	return cs1, cs2, nil
}

// bindContext makes ctx's deadline conn's deadline and its cancellation
// interrupt I/O on conn. release undoes both; it fails when ctx ended first.
func bindContext(ctx context.Context, conn net.Conn) (release func() error, err error) {
	if d, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(d); err != nil {
			return nil, err
		}
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() error {
		if !stop() { // the deadline was moved to the past: ctx is done
			return ctx.Err()
		}
		return conn.SetDeadline(time.Time{})
	}, nil
}

// ContextError makes an error of I/O on a connection bound to ctx wrap
// ctx's error when ctx ending caused it. A deadline error can be seen before
// ctx's own timer has fired.
func ContextError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	if d, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}
