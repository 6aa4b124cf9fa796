package noise

import (
	"crypto/ecdh"
	cryptorand "crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"ferry/proto"
)

// Keypair is a static Curve25519 key pair. Private is an X25519 scalar as
// crypto/ecdh stores it (the bytes of ecdh.PrivateKey.Bytes), Public the
// matching X25519 public key (ecdh.PublicKey.Bytes).
type Keypair struct {
	Private, Public [32]byte
}

// ErrKeyMismatch says a Keypair's public key does not belong to its private
// key.
var ErrKeyMismatch = errors.New("public key does not match private key")

// GenerateKeypair creates a key pair from 32 bytes of rand, or of
// crypto/rand when rand is nil. A seeded reader gives reproducible keys.
func GenerateKeypair(rand io.Reader) (Keypair, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var priv [32]byte
	if _, err := io.ReadFull(rand, priv[:]); err != nil {
		return Keypair{}, fmt.Errorf("generate keypair: %w", err)
	}
	return KeypairFromPrivate(priv)
}

// KeypairFromPrivate returns the key pair of a private key, for instance one
// loaded from disk or made with crypto/ecdh.
func KeypairFromPrivate(private [32]byte) (Keypair, error) {
	k, err := ecdh.X25519().NewPrivateKey(private[:])
	if err != nil {
		return Keypair{}, fmt.Errorf("keypair: %w", err)
	}
	kp := Keypair{Private: private}
	copy(kp.Public[:], k.PublicKey().Bytes())
	return kp, nil
}

// ID returns the device ID of the key pair: its public key.
func (k Keypair) ID() proto.DeviceID { return proto.DeviceID(k.Public) }

// check verifies that k's public key matches its private key.
func (k Keypair) check() error {
	want, err := KeypairFromPrivate(k.Private)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want.Public[:], k.Public[:]) != 1 {
		return fmt.Errorf("keypair: %w", ErrKeyMismatch)
	}
	return nil
}
