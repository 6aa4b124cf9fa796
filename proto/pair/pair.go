package pair

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"filippo.io/cpace"
	flynn "github.com/flynn/noise"

	"ferry/proto"
	"ferry/proto/noise"
)

var (
	// ErrWrongCode says the two devices used different codes (or a
	// handshake message was altered on the way, which looks the same).
	ErrWrongCode = errors.New("wrong pairing code")
	// ErrNoOffer says the offerer has no open offer with the code's number:
	// it never existed, expired, or was used up by an earlier attempt.
	ErrNoOffer = errors.New("no such pairing offer (unknown, expired or already used)")
	// ErrBusy says the offerer has too many pairing attempts going on to
	// take this one; trying again shortly may work.
	ErrBusy = errors.New("the other device is busy with other pairing attempts")
	// ErrAborted says the other device ended the pairing on purpose, for
	// instance because its user declined; the error quotes its reason.
	ErrAborted = errors.New("pairing aborted by the other device")
)

// Offer is what the offerer needs to answer one join attempt: the code it
// shows and what it tells a joiner that knows the code.
type Offer struct {
	Code  Code
	Intro Intro
}

// Offers is the offerer's book of open offers, as Serve uses it. Its
// errors wrap ErrNoOffer or ErrBusy, which Serve tells the joiner.
//
// An opening names an offer but proves nothing about its code; the
// joiner's proof is handshake message 3, and checking it is one guess at
// the code. So Find must not use an offer up, while Claim is where the rule
// of one guess per offer is kept: it must let at most one Serve at a time
// hold an offer, from Claim until that Serve returns, and the offer must be
// retired when that Serve fails with ErrWrongCode.
type Offers interface {
	// Find returns the open offer numbered n, when a joiner's opening
	// names it.
	Find(n uint32) (Offer, error)
	// Claim reserves offer n, found before, for checking this joiner's
	// proof of its code, which has arrived. An error leaves the proof
	// unchecked.
	Claim(n uint32) error
}

// Result is what a successful pairing yields: the peer's device ID (its
// Noise static key, authenticated by the handshake) and the peer's Intro.
type Result struct {
	Peer  proto.DeviceID
	Intro Intro
}

// Serve answers one join attempt on conn, as the offerer. It reads the
// joiner's opening, which names an offer number in clear, and asks offers
// for that offer; once the joiner's proof of the code has arrived it claims
// the offer and checks the proof (see Offers). Errors wrap ErrWrongCode only
// when the proof was checked and was wrong: then, and only then, the
// attempt was a guess at the code.
//
// On success the joiner's Intro lists the folders it accepted, a subset of
// Offer.Intro.Folders (Serve checks). Serve returns after it has sent the
// final confirmation.
//
// Errors wrap ErrNoOffer, ErrBusy, ErrWrongCode or ErrAborted when those
// are the cause. ctx bounds the whole exchange; without a deadline
// DefaultTimeout applies. The proof must arrive within ProofTimeout. Serve
// closes conn before it returns.
func Serve(ctx context.Context, conn net.Conn, key noise.Keypair, offers Offers) (Result, error) {
	defer conn.Close()
	end := deadline(ctx)
	stop, err := bindContext(ctx, conn, earliest(end, time.Now().Add(ProofTimeout)))
	if err != nil {
		return Result{}, fmt.Errorf("pair serve: %w", err)
	}
	defer stop()
	proved := false
	res, err := serve(conn, key, offers, func() error {
		proved = true
		return extendDeadline(ctx, conn, end)
	})
	if err != nil {
		err = noise.ContextError(ctx, fail(conn, err))
		if !proved && errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("no proof of the code within %v: %w", ProofTimeout, err)
		}
		return Result{}, fmt.Errorf("pair serve: %w", err)
	}
	return res, nil
}

// Refuse answers a joiner's opening on conn with ErrBusy, without looking
// up its offer: the caller has too many pairing attempts going on. It reads
// the opening first, so that the answer is not lost to a reset. ctx bounds
// it; Refuse closes conn before it returns.
func Refuse(ctx context.Context, conn net.Conn) error {
	defer conn.Close()
	stop, err := bindContext(ctx, conn, deadline(ctx))
	if err != nil {
		return fmt.Errorf("pair refuse: %w", err)
	}
	defer stop()
	if _, err := expect(conn, kindHello); err != nil {
		return fmt.Errorf("pair refuse: read opening: %w", noise.ContextError(ctx, err))
	}
	writeReject(conn, rejectBusy)
	return nil
}

// Join pairs with the offerer on the other end of conn, using code. Once the
// offerer is authenticated, Join calls choose with the offerer's Intro;
// choose returns the joiner's own Intro, whose Folders are the accepted
// subset of the offered ones. If choose returns an error, Join sends its
// text to the offerer as the reason and fails with that error. Join returns after the offerer has
// confirmed the pairing.
//
// Errors wrap ErrWrongCode, ErrNoOffer, ErrBusy or ErrAborted when those
// are the cause; after ErrBusy the same code may be tried again. ctx bounds
// the whole exchange, including choose; without a deadline DefaultTimeout
// applies. Join closes conn before it returns.
func Join(ctx context.Context, conn net.Conn, key noise.Keypair, code Code, choose func(offered Intro) (Intro, error)) (Result, error) {
	defer conn.Close()
	stop, err := bindContext(ctx, conn, deadline(ctx))
	if err != nil {
		return Result{}, fmt.Errorf("pair join: %w", err)
	}
	defer stop()
	res, err := join(conn, key, code, choose)
	if err != nil {
		return Result{}, fmt.Errorf("pair join: %w", noise.ContextError(ctx, fail(conn, err)))
	}
	return res, nil
}

// serve runs the offerer's side; proved is called once the joiner's proof
// is claimed, to give the rest of the exchange its full time.
func serve(conn net.Conn, key noise.Keypair, offers Offers, proved func() error) (Result, error) {
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	f, err := expect(conn, kindHello)
	if err != nil {
		return Result{}, fmt.Errorf("read opening: %w", err)
	}
	h, err := parseHello(f.body)
	if err != nil {
		return Result{}, err
	}
	offer, err := findOffer(conn, h.offer, offers)
	if err != nil {
		return Result{}, err
	}
	msgB, cpaceKey, err := cpace.Exchange(offer.Code.String(), cpaceContext(h.offer), h.msgA)
	if err != nil {
		return Result{}, fmt.Errorf("%w: opening: %w", errMalformed, err)
	}
	if err := writeFrame(conn, kindCPace, msgB); err != nil {
		return Result{}, fmt.Errorf("write reply: %w", err)
	}
	hs, err := handshakeFor(key, false, prologue(h.offer, h.msgA, msgB), cpaceKey)
	if err != nil {
		return Result{}, err
	}
	claim := func() error {
		if err := offers.Claim(h.offer); err != nil {
			writeReject(conn, refusalFor(err))
			return fmt.Errorf("claim offer %d: %w", h.offer, err)
		}
		return proved()
	}
	ch, err := respond(conn, hs, key.ID(), claim)
	if err != nil {
		return Result{}, err
	}
	return serveChannel(ch, offer.Intro)
}

// findOffer asks offers for the offer numbered n. When there is none it
// tells the joiner so.
func findOffer(conn net.Conn, n uint32, offers Offers) (Offer, error) {
	offer, err := offers.Find(n)
	if err != nil {
		writeReject(conn, refusalFor(err))
		return Offer{}, fmt.Errorf("offer %d: %w", n, err)
	}
	if offer.Code.offer != n || !offer.Code.valid() {
		return Offer{}, fmt.Errorf("find(%d) returned an offer with number %d", n, offer.Code.offer)
	}
	if err := offer.Intro.Validate(); err != nil {
		return Offer{}, fmt.Errorf("offer %d: own %w", n, err)
	}
	return offer, nil
}

// earliest returns the earlier of two times.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// serveChannel sends the offerer's Intro, reads the joiner's answer and
// confirms it.
func serveChannel(ch *channel, own Intro) (Result, error) {
	if err := ch.write(introMessage(own)); err != nil {
		return Result{}, fmt.Errorf("write intro: %w", err)
	}
	m, err := ch.read()
	if err != nil {
		return Result{}, fmt.Errorf("read joiner's intro: %w", err)
	}
	switch m.kind {
	case msgAbort:
		return Result{}, fmt.Errorf("%w: %q", ErrAborted, m.reason)
	case msgIntro:
	default:
		return Result{}, fmt.Errorf("%w: message kind %d instead of an intro", errMalformed, m.kind)
	}
	if err := checkAccepted(own.Folders, m.intro.Folders); err != nil {
		ch.write(abortMessage(err.Error())) // best effort: we fail either way
		return Result{}, fmt.Errorf("joiner's intro: %w", err)
	}
	if err := ch.write(message{kind: msgDone}); err != nil {
		return Result{}, fmt.Errorf("write confirmation: %w", err)
	}
	return Result{Peer: ch.peer, Intro: m.intro}, nil
}

func join(conn net.Conn, key noise.Keypair, code Code, choose func(Intro) (Intro, error)) (Result, error) {
	if choose == nil {
		return Result{}, errors.New("no choose function")
	}
	ch, err := joinHandshake(conn, key, code)
	if err != nil {
		return Result{}, err
	}
	return joinChannel(ch, choose)
}

// joinHandshake sends the opening, completes CPace and the Noise handshake,
// and returns the channel. Whether the code was right shows only in the
// offerer's answer that follows.
func joinHandshake(conn net.Conn, key noise.Keypair, code Code) (*channel, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if !code.valid() {
		return nil, fmt.Errorf("%w: zero code", ErrBadCode)
	}
	msgA, state, err := cpace.Start(code.String(), cpaceContext(code.offer))
	if err != nil {
		return nil, fmt.Errorf("cpace: %w", err)
	}
	if err := writeFrame(conn, kindHello, hello{offer: code.offer, msgA: msgA}.encode()); err != nil {
		return nil, fmt.Errorf("write opening: %w", err)
	}
	f, err := expect(conn, kindCPace)
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	cpaceKey, err := state.Finish(f.body)
	if err != nil {
		return nil, fmt.Errorf("%w: reply: %w", errMalformed, err)
	}
	hs, err := handshakeFor(key, true, prologue(code.offer, msgA, f.body), cpaceKey)
	if err != nil {
		return nil, err
	}
	return initiate(conn, hs, key.ID())
}

// joinChannel reads the offerer's Intro, answers with choose's and waits
// for the confirmation.
func joinChannel(ch *channel, choose func(Intro) (Intro, error)) (Result, error) {
	m, err := ch.read()
	if err != nil {
		return Result{}, verdictError(err)
	}
	if err := wantMessage(m, msgIntro); err != nil {
		return Result{}, fmt.Errorf("offerer's intro: %w", err)
	}
	offered := m.intro
	mine, err := choose(offered)
	if err == nil {
		err = mine.Validate()
	}
	if err == nil {
		err = checkAccepted(offered.Folders, mine.Folders)
	}
	if err != nil {
		ch.write(abortMessage(err.Error())) // best effort: we fail either way
		return Result{}, fmt.Errorf("choose: %w", err)
	}
	if err := ch.write(introMessage(mine)); err != nil {
		return Result{}, fmt.Errorf("write intro: %w", err)
	}
	if m, err = ch.read(); err == nil {
		err = wantMessage(m, msgDone)
	}
	if err != nil {
		return Result{}, fmt.Errorf("read confirmation: %w", err)
	}
	return Result{Peer: ch.peer, Intro: offered}, nil
}

// wantMessage checks that m is of kind want: an abort is the peer's error,
// anything else malformed.
func wantMessage(m message, want msgKind) error {
	switch m.kind {
	case want:
		return nil
	case msgAbort:
		return fmt.Errorf("%w: %q", ErrAborted, m.reason)
	}
	return fmt.Errorf("%w: message kind %d, want %d", errMalformed, m.kind, want)
}

// verdictError interprets a failure to read the offerer's first sealed
// message, its answer to handshake message 3. The offerer hangs up there
// only when message 3 failed, that is when the codes differ; its reject
// frame may not arrive (or an attacker may drop it, who could as well
// forge it), so a connection closed at this point means a wrong code too.
func verdictError(err error) error {
	if isClosed(err) {
		return fmt.Errorf("%w: the other device hung up after the handshake: %w", ErrWrongCode, err)
	}
	return fmt.Errorf("read offerer's intro: %w", err)
}

// handshakeFor derives the preshared key from the CPace key and prepares
// the Noise handshake.
func handshakeFor(key noise.Keypair, initiator bool, prologue, cpaceKey []byte) (*flynn.HandshakeState, error) {
	psk, err := derivePSK(cpaceKey)
	if err != nil {
		return nil, fmt.Errorf("derive psk: %w", err)
	}
	return newHandshake(key, initiator, prologue, psk)
}

// checkKey verifies that key's public half belongs to its private half.
func checkKey(key noise.Keypair) error {
	want, err := noise.KeypairFromPrivate(key.Private)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want.Public[:], key.Public[:]) != 1 {
		return noise.ErrKeyMismatch
	}
	return nil
}

// fail tells the peer, with a reject frame, that a message it sent broke the
// protocol, and returns err. The peer is then waiting for our next message,
// as the conversation alternates. Errors that are the peer's own rejects,
// I/O errors, local decisions and broken frame headers (after which the
// peer may still be writing) send nothing.
func fail(conn net.Conn, err error) error {
	if (errors.Is(err, errMalformed) || errors.Is(err, errVersion)) && !errors.Is(err, errFraming) {
		writeReject(conn, reasonFor(err))
	}
	return err
}

// writeReject sends a reject frame, best effort: the caller fails anyway.
func writeReject(conn net.Conn, r rejectReason) {
	writeFrame(conn, kindReject, []byte{byte(r)})
}
