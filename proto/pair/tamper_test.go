package pair_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ferry/proto/pair"
)

// tamperConn wraps the offerer's end of the connection and flips one byte
// of what the offerer writes (offerer to joiner) or reads (joiner to
// offerer). It also records where each of the offerer's writes starts: the
// offerer writes one frame per Write.
type tamperConn struct {
	net.Conn
	mask                byte
	flipRead, flipWrite int // stream offset of the byte to flip; -1 for none

	mu          sync.Mutex
	read, wrote int
	writeStarts []int
}

func (c *tamperConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := c.flipRead - c.read; i >= 0 && i < n {
		p[i] ^= c.mask
	}
	c.read += n
	return n, err
}

func (c *tamperConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writeStarts = append(c.writeStarts, c.wrote)
	if i := c.flipWrite - c.wrote; i >= 0 && i < len(p) {
		p = append([]byte(nil), p...)
		p[i] ^= c.mask
	}
	c.wrote += len(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// tamperedPairing runs one pairing through a tamperConn set up by set, in
// a bubble so that a flip which leaves a side waiting for bytes that never
// come costs no real time.
func tamperedPairing(t *testing.T, set func(*tamperConn)) (j, s outcome, tc *tamperConn, claims int) {
	synctest.Test(t, func(t *testing.T) {
		code := mustCode(t, "7-harp-tulip-violin")
		o := newOffers(pair.Offer{Code: code, Intro: offererIntro})
		jc, oc := net.Pipe()
		tc = &tamperConn{Conn: oc, mask: 0xff, flipRead: -1, flipWrite: -1}
		set(tc)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		j, s = run(ctx, jc, tc, keypair(t, 1), keypair(t, 2), code, o, accept(joinerIntro))
		_, claimed := o.calls()
		claims = len(claimed)
	})
	return j, s, tc, claims
}

// TestTamper flips every byte of the conversation, in both directions, and
// expects the pairing to fail, the offer to be claimed only once the
// joiner's proof has arrived, and a wrong code only for a flip in the
// proof. The joiner never succeeds; the offerer succeeds only when the flip
// is in its last frame, the confirmation, which it has sent before it
// could know (then its result is still the right one: the joiner did know
// the code).
func TestTamper(t *testing.T) {
	j, s, clean, _ := tamperedPairing(t, func(*tamperConn) {})
	if j.err != nil || s.err != nil {
		t.Fatalf("untampered pairing: join %v, serve %v", j.err, s.err)
	}
	lastFrame := clean.writeStarts[len(clean.writeStarts)-1]
	// The joiner's proof, handshake message 3, follows the opening (a
	// 3-byte header and 63 bytes) and message 1 (3 and 48) behind its own
	// header; the offerer claims the offer before it writes its intro, its
	// third frame.
	const proofStart, proofEnd = 66 + 51 + 3, 66 + 51 + 3 + 64
	introStart := clean.writeStarts[2]
	dirs := []struct {
		name       string
		bytes      int
		set        func(tc *tamperConn, i int)
		claimed    func(i int) bool // whether a flip of byte i comes after the claim
		wrongProof func(i int) bool // whether a flip of byte i makes the proof wrong
	}{
		{"joiner to offerer", clean.read, func(tc *tamperConn, i int) { tc.flipRead = i },
			func(i int) bool { return i >= proofStart }, func(i int) bool { return i >= proofStart && i < proofEnd }},
		{"offerer to joiner", clean.wrote, func(tc *tamperConn, i int) { tc.flipWrite = i },
			func(i int) bool { return i >= introStart }, func(int) bool { return false }},
	}
	for _, d := range dirs {
		for i := range d.bytes {
			j, s, _, claims := tamperedPairing(t, func(tc *tamperConn) { d.set(tc, i) })
			if j.err == nil {
				t.Fatalf("%s, byte %d: joiner succeeded: %+v", d.name, i, j.res)
			}
			// A flip before the proof is no guess at the code: the offer
			// is not claimed, so it stays open.
			if want := d.claimed(i); (claims == 1) != want || claims > 1 {
				t.Fatalf("%s, byte %d: %d claims, want claimed %t", d.name, i, claims, want)
			}
			if want := d.wrongProof(i); errors.Is(s.err, pair.ErrWrongCode) != want {
				t.Fatalf("%s, byte %d: offerer %v; want a wrong code %t", d.name, i, s.err, want)
			}
			if s.err == nil {
				if d.name != "offerer to joiner" || i < lastFrame {
					t.Fatalf("%s, byte %d: offerer succeeded", d.name, i)
				}
				if s.res.Peer != keypair(t, 1).ID() || !reflect.DeepEqual(s.res.Intro, joinerIntro) {
					t.Fatalf("%s, byte %d: offerer succeeded with %+v", d.name, i, s.res)
				}
			}
			// The offerer's verdict reaches the joiner.
			for _, verdict := range []error{pair.ErrWrongCode, pair.ErrNoOffer} {
				if errors.Is(s.err, verdict) && !errors.Is(j.err, verdict) {
					t.Fatalf("%s, byte %d: offerer %v, but joiner %v", d.name, i, s.err, j.err)
				}
			}
		}
	}
}
