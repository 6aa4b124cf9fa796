package pair_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ferry/proto/pair"
)

// isProof reports whether p, one frame the joiner writes, is handshake
// message 3: its proof of the code (kind 3, 64 bytes).
func isProof(p []byte) bool {
	return len(p) == 3+64 && p[0] == 3 && binary.BigEndian.Uint16(p[1:]) == 64
}

// proofConn is the joiner's end of a connection that sends instead of
// handshake message 3 what replace makes of it; nil hangs up.
type proofConn struct {
	net.Conn
	replace func([]byte) []byte
}

func (c proofConn) Write(p []byte) (int, error) {
	if !isProof(p) {
		return c.Conn.Write(p)
	}
	q := c.replace(p)
	if q == nil {
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	if _, err := c.Conn.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

// opening is a joiner's opening frame for offer n with a CPace message of
// random bytes, as anyone who heard the number can send.
func opening(n uint32) []byte {
	body := append([]byte("ferry-pair"), 1)
	body = binary.BigEndian.AppendUint32(body, n)
	cp := make([]byte, 48)
	rand.Read(cp)
	body = append(body, cp...)
	return append([]byte{1, 0, byte(len(body))}, body...)
}

// TestNoProofNoGuess: attempts that end before the joiner's proof of the
// code has been checked leave the offer open, whatever they sent: the
// right code pairs afterwards.
func TestNoProofNoGuess(t *testing.T) {
	code := mustCode(t, "7-harp-tulip-violin")
	wrong := mustCode(t, "7-harp-tulip-wagon")
	garbage := make([]byte, 512)
	rand.Read(garbage)
	garbage[0] = 0xff // no frame kind: the offerer stops reading at once
	joinWith := func(replace func([]byte) []byte) func(t *testing.T, jc net.Conn) {
		return func(t *testing.T, jc net.Conn) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			pair.Join(ctx, proofConn{jc, replace}, keypair(t, 1), wrong, accept(joinerIntro))
		}
	}
	tests := []struct {
		name   string
		joiner func(t *testing.T, jc net.Conn)
	}{
		{"opening of random bytes, then garbage", func(t *testing.T, jc net.Conn) {
			jc.Write(opening(7))
			jc.Read(make([]byte, 256))
			jc.Write(garbage)
			io.Copy(io.Discard, jc)
		}},
		{"opening only", func(t *testing.T, jc net.Conn) {
			jc.Write(opening(7))
			jc.Close()
		}},
		{"hang up before the proof", joinWith(func([]byte) []byte { return nil })},
		{"proof of the wrong length", joinWith(func(p []byte) []byte { return append([]byte{3, 0, 63}, p[3:66]...) })},
		{"another message instead of the proof", joinWith(func(p []byte) []byte { return append([]byte{4, 0, 64}, p[3:]...) })},
		{"garbage instead of the proof", joinWith(func(p []byte) []byte { return garbage[:len(p)] })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOffers(pair.Offer{Code: code, Intro: offererIntro})
			jc, oc := net.Pipe()
			done := make(chan error, 1)
			go func() {
				_, err := pair.Serve(t.Context(), oc, keypair(t, 2), o)
				done <- err
			}()
			tt.joiner(t, jc)
			jc.Close()
			if err := <-done; err == nil || errors.Is(err, pair.ErrWrongCode) {
				t.Fatalf("serve: %v, want a failure that is not a wrong code", err)
			}
			if _, claims := o.calls(); len(claims) != 0 {
				t.Fatalf("claims %v before any proof was checked", claims)
			}
			jc, oc = net.Pipe()
			j, s := run(t.Context(), jc, oc, keypair(t, 1), keypair(t, 2), code, o, accept(joinerIntro))
			if j.err != nil || s.err != nil {
				t.Fatalf("the right code afterwards: join %v, serve %v", j.err, s.err)
			}
		})
	}
}

// refusing is offers whose Claim refuses with err.
type refusing struct {
	*offers
	err error
}

func (r refusing) Claim(n uint32) error {
	r.offers.Claim(n)
	return r.err
}

// TestClaimRefused: when Claim refuses, the proof is not checked, so even a
// wrong code is no guess; the joiner hears why.
func TestClaimRefused(t *testing.T) {
	right := mustCode(t, "7-harp-tulip-violin")
	for _, typed := range []string{"7-harp-tulip-violin", "7-harp-tulip-wagon"} {
		for _, refusal := range []error{pair.ErrBusy, pair.ErrNoOffer} {
			o := newOffers(pair.Offer{Code: right, Intro: offererIntro})
			jc, oc := net.Pipe()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			done := make(chan error, 1)
			go func() {
				_, err := pair.Serve(ctx, oc, keypair(t, 2), refusing{o, refusal})
				done <- err
			}()
			_, jerr := pair.Join(ctx, jc, keypair(t, 1), mustCode(t, typed), func(pair.Intro) (pair.Intro, error) {
				t.Error("choose called")
				return joinerIntro, nil
			})
			serr := <-done
			cancel()
			if !errors.Is(jerr, refusal) || !errors.Is(serr, refusal) || errors.Is(serr, pair.ErrWrongCode) {
				t.Fatalf("%s, claim refused with %v: join %v, serve %v", typed, refusal, jerr, serr)
			}
		}
	}
}

// TestRefuse: a refused opening is answered busy, which the joiner reports
// as ErrBusy.
func TestRefuse(t *testing.T) {
	jc, oc := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- pair.Refuse(t.Context(), oc) }()
	_, err := pair.Join(t.Context(), jc, keypair(t, 1), mustCode(t, "7-harp-tulip-violin"), accept(joinerIntro))
	if !errors.Is(err, pair.ErrBusy) {
		t.Fatalf("join: %v, want ErrBusy", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("refuse: %v", err)
	}
	synctest.Test(t, func(t *testing.T) {
		jc, oc := net.Pipe()
		defer jc.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		if err := pair.Refuse(ctx, oc); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("refuse of a silent peer: %v, want the deadline", err)
		}
	})
}

// stallConn is the joiner's end of a connection that waits d before it
// sends handshake message 3.
type stallConn struct {
	net.Conn
	d time.Duration
}

func (c stallConn) Write(p []byte) (int, error) {
	if isProof(p) {
		time.Sleep(c.d)
	}
	return c.Conn.Write(p)
}

// TestProofTimeout: the offerer waits ProofTimeout for the proof, even
// when its context allows more; once the proof is in, the rest of the
// exchange has the context's whole time.
func TestProofTimeout(t *testing.T) {
	code := mustCode(t, "7-harp-tulip-violin")
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		o := newOffers(pair.Offer{Code: code, Intro: offererIntro})
		jc, oc := net.Pipe()
		type timed struct {
			err  error
			took time.Duration
		}
		done := make(chan timed, 1)
		go func() {
			start := time.Now()
			_, err := pair.Serve(ctx, oc, keypair(t, 2), o)
			done <- timed{err, time.Since(start)}
		}()
		pair.Join(ctx, stallConn{jc, 2 * pair.ProofTimeout}, keypair(t, 1), code, accept(joinerIntro))
		r := <-done
		if !errors.Is(r.err, os.ErrDeadlineExceeded) || r.took != pair.ProofTimeout || !strings.Contains(r.err.Error(), "no proof of the code") {
			t.Fatalf("serve: %v after %v, want a timeout after %v", r.err, r.took, pair.ProofTimeout)
		}
		if _, claims := o.calls(); len(claims) != 0 {
			t.Fatalf("claims %v without a proof", claims)
		}

		jc, oc = net.Pipe()
		go func() {
			_, err := pair.Serve(ctx, oc, keypair(t, 2), o)
			done <- timed{err: err}
		}()
		_, err := pair.Join(ctx, jc, keypair(t, 1), code, func(pair.Intro) (pair.Intro, error) {
			time.Sleep(2 * pair.ProofTimeout)
			return joinerIntro, nil
		})
		if r := <-done; err != nil || r.err != nil {
			t.Fatalf("a joiner slow after its proof: join %v, serve %v", err, r.err)
		}
		if _, claims := o.calls(); !slices.Equal(claims, []uint32{7}) {
			t.Fatalf("claims %v, want [7]", claims)
		}
	})
}
