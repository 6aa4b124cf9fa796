package pair

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"filippo.io/cpace"
	flynn "github.com/flynn/noise"

	"ferry/proto"
	"ferry/proto/noise"
)

const (
	// protocolName names the protocol and its version in the CPace context
	// and the Noise prologue.
	protocolName = "ferry-pair/1"
	// The CPace identities are roles: the static keys are not known yet
	// when CPace runs; the Noise handshake binds them.
	joinerIdentity  = "ferry-joiner"  // CPace party A (Start)
	offererIdentity = "ferry-offerer" // CPace party B (Exchange)
	// pskInfo derives the Noise preshared key from the CPace key.
	pskInfo = protocolName + " noise psk"
	pskLen  = 32
	// maxHandshakeLen is the longest Noise handshake message (the second).
	maxHandshakeLen = 96
)

// handshakeLens are the exact lengths of the three messages of
// Noise_XXpsk3_25519_AESGCM_SHA256 with empty payloads: in a PSK handshake
// the first message's empty payload is encrypted too, so it has a tag.
var handshakeLens = [3]int{32 + 16, 32 + 32 + 16 + 16, 32 + 16 + 16}

// errDecrypt says a sealed message failed authentication.
var errDecrypt = errors.New("message authentication failed")

// cpaceContext binds the protocol version and the offer number into CPace.
func cpaceContext(offer uint32) *cpace.ContextInfo {
	ad := binary.BigEndian.AppendUint32([]byte(protocolName), offer)
	return cpace.NewContextInfo(joinerIdentity, offererIdentity, ad)
}

// prologue is what both sides mix into the Noise handshake first: the
// protocol, the offer number and both CPace messages, so that the whole
// clear-text transcript is bound to the keys.
func prologue(offer uint32, msgA, msgB []byte) []byte {
	p := binary.BigEndian.AppendUint32([]byte(protocolName), offer)
	p = append(p, msgA...)
	return append(p, msgB...)
}

// derivePSK turns the CPace key into the Noise preshared key.
func derivePSK(cpaceKey []byte) ([]byte, error) {
	return hkdf.Expand(sha256.New, cpaceKey, pskInfo, pskLen)
}

// newHandshake prepares one side of Noise_XXpsk3_25519_AESGCM_SHA256.
func newHandshake(key noise.Keypair, initiator bool, prologue, psk []byte) (*flynn.HandshakeState, error) {
	hs, err := flynn.NewHandshakeState(flynn.Config{
		CipherSuite:           flynn.NewCipherSuite(flynn.DH25519, flynn.CipherAESGCM, flynn.HashSHA256),
		Pattern:               flynn.HandshakeXX,
		Initiator:             initiator,
		Prologue:              prologue,
		PresharedKey:          psk,
		PresharedKeyPlacement: 3,
		StaticKeypair:         flynn.DHKey{Private: key.Private[:], Public: key.Public[:]},
	})
	if err != nil {
		return nil, fmt.Errorf("noise setup: %w", err)
	}
	return hs, nil
}

// initiate runs the joiner's side of the handshake: it writes messages 1
// and 3 and reads message 2.
func initiate(conn net.Conn, hs *flynn.HandshakeState, self proto.DeviceID) (*channel, error) {
	if _, _, err := writeHandshake(conn, hs, 0); err != nil {
		return nil, err
	}
	if _, _, err := readHandshake(conn, hs, 1); err != nil {
		return nil, err
	}
	if err := checkPeer(hs, self); err != nil {
		return nil, err
	}
	cs1, cs2, err := writeHandshake(conn, hs, 2)
	if err != nil {
		return nil, err
	}
	return newChannel(conn, hs, cs1, cs2)
}

// respond runs the offerer's side: it reads messages 1 and 3 and writes
// message 2. Message 3 is the joiner's proof of the code: the first message
// that depends on it. respond calls claim once message 3 has arrived whole
// and before it checks it; an error from claim ends the handshake with the
// proof unchecked. When message 3 then fails to authenticate, respond tells
// the joiner and returns an error wrapping ErrWrongCode.
func respond(conn net.Conn, hs *flynn.HandshakeState, self proto.DeviceID, claim func() error) (*channel, error) {
	if _, _, err := readHandshake(conn, hs, 0); err != nil {
		return nil, err
	}
	if _, _, err := writeHandshake(conn, hs, 1); err != nil {
		return nil, err
	}
	proof, err := readHandshakeFrame(conn, 2)
	if err != nil {
		return nil, err
	}
	if err := claim(); err != nil {
		return nil, err
	}
	cs1, cs2, err := processHandshake(hs, proof, 2)
	if errors.Is(err, errDecrypt) {
		writeReject(conn, rejectWrongCode)
		return nil, fmt.Errorf("%w: handshake message 3 failed authentication", ErrWrongCode)
	}
	if err != nil {
		return nil, err
	}
	if err := checkPeer(hs, self); err != nil {
		return nil, err
	}
	return newChannel(conn, hs, cs2, cs1)
}

func writeHandshake(conn net.Conn, hs *flynn.HandshakeState, i int) (cs1, cs2 *flynn.CipherState, err error) {
	msg, cs1, cs2, err := hs.WriteMessage(nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("handshake message %d: %w", i+1, err)
	}
	if len(msg) != handshakeLens[i] {
		return nil, nil, fmt.Errorf("handshake message %d: %d bytes, want %d", i+1, len(msg), handshakeLens[i])
	}
	if err := writeFrame(conn, kindHandshake, msg); err != nil {
		return nil, nil, fmt.Errorf("write handshake message %d: %w", i+1, err)
	}
	return cs1, cs2, nil
}

// readHandshake reads and processes handshake message i. A message that
// fails to process is an error wrapping errMalformed and errDecrypt.
func readHandshake(conn net.Conn, hs *flynn.HandshakeState, i int) (cs1, cs2 *flynn.CipherState, err error) {
	msg, err := readHandshakeFrame(conn, i)
	if err != nil {
		return nil, nil, err
	}
	return processHandshake(hs, msg, i)
}

// readHandshakeFrame reads handshake message i and checks its length.
func readHandshakeFrame(conn net.Conn, i int) ([]byte, error) {
	f, err := expect(conn, kindHandshake)
	if err != nil {
		return nil, fmt.Errorf("read handshake message %d: %w", i+1, err)
	}
	if len(f.body) != handshakeLens[i] {
		return nil, fmt.Errorf("%w: handshake message %d of %d bytes, want %d", errMalformed, i+1, len(f.body), handshakeLens[i])
	}
	return f.body, nil
}

// processHandshake processes handshake message i. A message that fails is
// an error wrapping errMalformed and errDecrypt.
func processHandshake(hs *flynn.HandshakeState, msg []byte, i int) (cs1, cs2 *flynn.CipherState, err error) {
	if _, cs1, cs2, err = hs.ReadMessage(nil, msg); err != nil {
		return nil, nil, fmt.Errorf("%w: handshake message %d: %w: %w", errMalformed, i+1, errDecrypt, err)
	}
	return cs1, cs2, nil
}

// expect reads a frame of kind want. A reject frame instead is the peer's
// error; any other kind is malformed.
func expect(conn net.Conn, want frameKind) (frame, error) {
	f, err := readFrame(conn)
	switch {
	case err != nil:
		return frame{}, err
	case f.kind == kindReject:
		return frame{}, rejectReason(f.body[0]).err()
	case f.kind != want:
		return frame{}, fmt.Errorf("%w: frame of kind %d, want %d", errMalformed, f.kind, want)
	}
	return f, nil
}

// channel is the encrypted channel a completed handshake sets up. Each
// message travels as one sealed frame.
type channel struct {
	conn       net.Conn
	send, recv *flynn.CipherState
	peer       proto.DeviceID // the peer's static key, authenticated
}

// checkPeer checks the peer's static key, right after the message that
// carried it: a device cannot pair with itself.
func checkPeer(hs *flynn.HandshakeState, self proto.DeviceID) error {
	if peer := hs.PeerStatic(); len(peer) == len(self) && proto.DeviceID(peer) == self {
		return fmt.Errorf("%w: the other device has our own device ID", errMalformed)
	}
	return nil
}

func newChannel(conn net.Conn, hs *flynn.HandshakeState, send, recv *flynn.CipherState) (*channel, error) {
	peer := hs.PeerStatic()
	if len(peer) != len(proto.DeviceID{}) || send == nil || recv == nil {
		return nil, errors.New("handshake did not complete")
	}
	return &channel{conn: conn, send: send, recv: recv, peer: proto.DeviceID(peer)}, nil
}

// write encrypts m and sends it.
func (ch *channel) write(m message) error {
	plain, err := encodeMessage(m)
	if err != nil {
		return err
	}
	if len(plain) > maxPlaintext {
		return fmt.Errorf("pairing message of %d bytes, at most %d", len(plain), maxPlaintext)
	}
	sealed, err := ch.send.Encrypt(nil, nil, plain)
	if err != nil {
		return fmt.Errorf("seal pairing message: %w", err)
	}
	return writeFrame(ch.conn, kindSealed, sealed)
}

// read receives, decrypts and decodes the next message.
func (ch *channel) read() (message, error) {
	f, err := expect(ch.conn, kindSealed)
	if err != nil {
		return message{}, err
	}
	plain, err := ch.recv.Decrypt(nil, nil, f.body)
	if err != nil {
		return message{}, fmt.Errorf("%w: sealed message: %w", errMalformed, errDecrypt)
	}
	return decodeMessage(plain)
}
