package pair

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"

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

// Result is what a successful pairing yields: the peer's device ID (its
// Noise static key, authenticated by the handshake) and the peer's Intro.
type Result struct {
	Peer  proto.DeviceID
	Intro Intro
}

// Serve answers one join attempt on conn, as the offerer. It reads the
// joiner's opening, which names an offer number in clear, and calls take
// with it, at most once. take returns the offer and true, or false when no
// such offer is open; take must also retire the offer, so that a failed
// attempt (a wrong code) cannot be repeated: one guess per offer.
//
// On success the joiner's Intro lists the folders it accepted, a subset of
// Offer.Intro.Folders (Serve checks). Serve returns after it has sent the
// final confirmation.
//
// Errors wrap ErrNoOffer, ErrWrongCode or ErrAborted when those are the
// cause. ctx bounds the whole exchange; without a deadline DefaultTimeout
// applies. Serve closes conn before it returns.
func Serve(ctx context.Context, conn net.Conn, key noise.Keypair, take func(offer uint32) (Offer, bool)) (Result, error) {
	defer conn.Close()
	stop, err := bindContext(ctx, conn)
	if err != nil {
		return Result{}, fmt.Errorf("pair serve: %w", err)
	}
	defer stop()
	res, err := serve(conn, key, take)
	if err != nil {
		return Result{}, fmt.Errorf("pair serve: %w", noise.ContextError(ctx, fail(conn, err)))
	}
	return res, nil
}

// Join pairs with the offerer on the other end of conn, using code. Once the
// offerer is authenticated, Join calls choose with the offerer's Intro;
// choose returns the joiner's own Intro, whose Folders are the accepted
// subset of the offered ones. If choose returns an error, Join sends its
// text to the offerer as the reason and fails with that error. Join returns after the offerer has
// confirmed the pairing.
//
// Errors wrap ErrWrongCode, ErrNoOffer or ErrAborted when those are the
// cause. ctx bounds the whole exchange, including choose; without a deadline
// DefaultTimeout applies. Join closes conn before it returns.
func Join(ctx context.Context, conn net.Conn, key noise.Keypair, code Code, choose func(offered Intro) (Intro, error)) (Result, error) {
	defer conn.Close()
	stop, err := bindContext(ctx, conn)
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

func serve(conn net.Conn, key noise.Keypair, take func(uint32) (Offer, bool)) (Result, error) {
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
	offer, err := takeOffer(conn, h.offer, take)
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
	ch, err := respond(conn, hs, key.ID())
	if err != nil {
		return Result{}, err
	}
	return serveChannel(ch, offer.Intro)
}

// takeOffer asks take for the offer numbered n. When there is none it tells
// the joiner so.
func takeOffer(conn net.Conn, n uint32, take func(uint32) (Offer, bool)) (Offer, error) {
	offer, ok := take(n)
	if !ok {
		writeReject(conn, rejectNoOffer)
		return Offer{}, fmt.Errorf("%w: offer %d", ErrNoOffer, n)
	}
	if offer.Code.offer != n || !offer.Code.valid() {
		return Offer{}, fmt.Errorf("take(%d) returned an offer with number %d", n, offer.Code.offer)
	}
	if err := offer.Intro.Validate(); err != nil {
		return Offer{}, fmt.Errorf("offer %d: own %w", n, err)
	}
	return offer, nil
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
