package pair

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

const (
	// CodeWords is the number of words in a code. Each is one of 256, so the
	// words carry 24 bits: a guess at a code is right once in 16.7 million,
	// and each offer allows one guess.
	CodeWords = 3
	// MaxOffer is the largest offer number. Offer numbers only tell a
	// device's open offers apart; they are sent in clear and are no secret.
	MaxOffer = 999

	wordBits           = 8  // bits per word: the list has 1<<wordBits words
	maxWordLen         = 8  // longest word the list may hold
	maxSuggestDistance = 2  // farthest typo ParseCode suggests a word for
	maxSuggestions     = 3  // most words one suggestion names
	maxCodeLen         = 80 // longest code string ParseCode reads
	newCodeTries       = 64 // offer number draws before NewCode gives up
)

// ErrBadCode says a string is not a pairing code. The wrapping error says
// what is wrong and, for a misspelt word, which list word was meant.
var ErrBadCode = errors.New("invalid pairing code")

// Code is a pairing code: an offer number that names one offer of the
// device showing the code, and CodeWords words from a fixed list that form
// the secret. The number is drawn at random and independently of the words.
// The zero Code is not a valid code.
//
// A Code is a comparable value. Its String form is the secret; log it with
// slog, whose LogValue shows only the offer number.
type Code struct {
	offer uint32
	words [CodeWords]uint8 // indices into codeWords
}

// NewCode draws a code from rand (crypto/rand when nil): an offer number
// uniform in 1..MaxOffer and CodeWords words uniform over the list. The
// caller chooses another code if the number names one of its open offers.
func NewCode(rand io.Reader) (Code, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var c Code
	var err error
	if c.offer, err = drawOffer(rand); err != nil {
		return Code{}, fmt.Errorf("new pairing code: %w", err)
	}
	if _, err := io.ReadFull(rand, c.words[:]); err != nil {
		return Code{}, fmt.Errorf("new pairing code: %w", err)
	}
	return c, nil
}

// drawOffer draws a number uniform in 1..MaxOffer by rejection: 10 random
// bits, kept when they are in range.
func drawOffer(rand io.Reader) (uint32, error) {
	var b [2]byte
	for range newCodeTries {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return 0, err
		}
		if n := uint32(binary.BigEndian.Uint16(b[:]) & 0x3ff); n >= 1 && n <= MaxOffer {
			return n, nil
		}
	}
	return 0, errors.New("random source gives no offer number in range")
}

// ParseCode reads a code as a person types it: case does not matter,
// surrounding space is ignored, and the parts may be separated by '-', '.'
// or spaces, in any number. The number comes first. A word that is not in
// the list is an error naming it and, if one is close, the word that was
// probably meant. Errors wrap ErrBadCode.
func ParseCode(s string) (Code, error) {
	if len(s) > maxCodeLen {
		return Code{}, fmt.Errorf("%w: %d characters, a code is much shorter", ErrBadCode, len(s))
	}
	parts := strings.FieldsFunc(strings.ToLower(s), isCodeSeparator)
	if len(parts) == 0 {
		return Code{}, fmt.Errorf("%w: empty", ErrBadCode)
	}
	var c Code
	var err error
	if c.offer, err = parseOffer(parts[0]); err != nil {
		return Code{}, err
	}
	words := parts[1:]
	if len(words) != CodeWords {
		return Code{}, fmt.Errorf("%w: %d words after the number, want %d", ErrBadCode, len(words), CodeWords)
	}
	for i, w := range words {
		if c.words[i], err = parseWord(w); err != nil {
			return Code{}, err
		}
	}
	return c, nil
}

func isCodeSeparator(r rune) bool {
	return r == '-' || r == '.' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
}

// parseOffer reads the offer number, 1..MaxOffer (leading zeros allowed).
func parseOffer(s string) (uint32, error) {
	if _, isWord := codeWords.lookup(s); isWord {
		return 0, fmt.Errorf("%w: no offer number: a code starts with a number, as in 7-%s-...", ErrBadCode, s)
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("%w: %q is not an offer number (a code starts with a number)", ErrBadCode, s)
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < 1 || n > MaxOffer {
		return 0, fmt.Errorf("%w: offer number %.12s is not in 1-%d", ErrBadCode, s, MaxOffer)
	}
	return uint32(n), nil
}

// parseWord returns the list index of w, or an error with a suggestion.
func parseWord(w string) (uint8, error) {
	if i, ok := codeWords.lookup(w); ok {
		return i, nil
	}
	err := fmt.Errorf("%w: %q is not a code word", ErrBadCode, w)
	if near := codeWords.closest(w); len(near) > 0 {
		err = fmt.Errorf("%w (did you mean %s?)", err, quoteAll(near))
	}
	return 0, err
}

// quoteAll renders words as `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Offer returns the offer number.
func (c Code) Offer() uint32 { return c.offer }

// Words returns the words of the code.
func (c Code) Words() []string {
	out := make([]string, len(c.words))
	for i, w := range c.words {
		out[i] = codeWords.words[w]
	}
	return out
}

// String renders the code as the number and the words joined by dashes,
// for example "7-harp-tulip-violin". ParseCode reads it back.
func (c Code) String() string {
	return strconv.FormatUint(uint64(c.offer), 10) + "-" + strings.Join(c.Words(), "-")
}

// LogValue keeps the secret words out of logs: it shows the offer number.
func (c Code) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("offer", uint64(c.offer)))
}

// valid reports whether c came from NewCode or ParseCode.
func (c Code) valid() bool { return c.offer >= 1 && c.offer <= MaxOffer }
