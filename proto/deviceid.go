package proto

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// DeviceID identifies a device: its Curve25519 static public key. Because the
// ID is the key itself, a Noise handshake proves who is on the other end.
type DeviceID [32]byte

// ShortID is the first 8 bytes of a DeviceID, used in version vectors.
type ShortID uint64

func (s ShortID) String() string { return fmt.Sprintf("%016X", uint64(s))[:7] }

// Short returns the device's short ID.
func (d DeviceID) Short() ShortID { return ShortID(binary.BigEndian.Uint64(d[:8])) }

// IsZero reports whether d is unset.
func (d DeviceID) IsZero() bool { return d == DeviceID{} }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

const (
	idGroups    = 4  // check groups
	idGroupLen  = 13 // base32 characters per check group
	idPrintLen  = 7  // characters per printed group
	b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
)

// String renders d as 56 base32 characters in 8 dash-separated groups of 7:
// the 52 characters of the key, split in 4 runs of 13, each followed by a
// Luhn mod 32 check character.
func (d DeviceID) String() string {
	raw := b32.EncodeToString(d[:]) // 52 characters
	var withCheck strings.Builder
	for g := range idGroups {
		run := raw[g*idGroupLen : (g+1)*idGroupLen]
		withCheck.WriteString(run)
		withCheck.WriteByte(luhn32(run))
	}
	s := withCheck.String()
	parts := make([]string, 0, len(s)/idPrintLen)
	for i := 0; i < len(s); i += idPrintLen {
		parts = append(parts, s[i:i+idPrintLen])
	}
	return strings.Join(parts, "-")
}

// Abbrev returns the first group of the ID, for logs and conflict names.
func (d DeviceID) Abbrev() string { return d.String()[:idPrintLen] }

// ErrBadDeviceID says a device ID string is malformed or mistyped.
var ErrBadDeviceID = errors.New("invalid device ID")

// ParseDeviceID parses the form String prints. Dashes, spaces and case do not
// matter; a wrong length or a failed check character is an error naming the
// group that is wrong.
func ParseDeviceID(s string) (DeviceID, error) {
	var id DeviceID
	clean := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
	if len(clean) != idGroups*(idGroupLen+1) {
		return id, fmt.Errorf("%w: %q has %d characters, want %d", ErrBadDeviceID, s, len(clean), idGroups*(idGroupLen+1))
	}
	var raw strings.Builder
	for g := range idGroups {
		chunk := clean[g*(idGroupLen+1) : (g+1)*(idGroupLen+1)]
		run, check := chunk[:idGroupLen], chunk[idGroupLen]
		if strings.IndexFunc(run, func(r rune) bool { return !strings.ContainsRune(b32Alphabet, r) }) >= 0 {
			return id, fmt.Errorf("%w: %q has a character outside A-Z and 2-7", ErrBadDeviceID, s)
		}
		if luhn32(run) != check {
			return id, fmt.Errorf("%w: check character of part %d does not match (typo near characters %d-%d?)", ErrBadDeviceID, g+1, g*(idGroupLen+1)+1, (g+1)*(idGroupLen+1))
		}
		raw.WriteString(run)
	}
	b, err := b32.DecodeString(raw.String())
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("%w: %q does not decode to a key", ErrBadDeviceID, s)
	}
	copy(id[:], b)
	return id, nil
}

// MarshalText implements encoding.TextMarshaler.
func (d DeviceID) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *DeviceID) UnmarshalText(b []byte) error {
	id, err := ParseDeviceID(string(b))
	if err != nil {
		return err
	}
	*d = id
	return nil
}

// luhn32 computes the Luhn mod N check character over the base32 alphabet.
func luhn32(s string) byte {
	const n = len(b32Alphabet)
	factor, sum := 1, 0
	for i := len(s) - 1; i >= 0; i-- {
		code := strings.IndexByte(b32Alphabet, s[i])
		addend := factor * code
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
		sum += addend/n + addend%n
	}
	return b32Alphabet[(n-sum%n)%n]
}
