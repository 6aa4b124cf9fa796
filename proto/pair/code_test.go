package pair_test

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"ferry/proto/pair"
)

// seeded returns a deterministic random source.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

// TestNewCode draws many codes and checks their form and that numbers and
// words spread over their whole range.
func TestNewCode(t *testing.T) {
	if bits := pair.CodeWords * 8; bits < 20 {
		t.Fatalf("the words carry %d bits, want at least 20", bits)
	}
	form := regexp.MustCompile(`^[1-9][0-9]{0,2}(-[a-z]{3,8}){3}$`)
	r := seeded(1)
	offers := map[uint32]bool{}
	words := make([]map[string]bool, pair.CodeWords)
	for i := range words {
		words[i] = map[string]bool{}
	}
	const draws = 6000
	for range draws {
		c, err := pair.NewCode(r)
		if err != nil {
			t.Fatal(err)
		}
		if c.Offer() < 1 || c.Offer() > pair.MaxOffer || !form.MatchString(c.String()) {
			t.Fatalf("bad code %q (offer %d)", c, c.Offer())
		}
		back, err := pair.ParseCode(c.String())
		if err != nil || back != c {
			t.Fatalf("ParseCode(%q) = %v, %v", c, back, err)
		}
		offers[c.Offer()] = true
		for i, w := range c.Words() {
			words[i][w] = true
		}
	}
	// With 6000 draws every one of 256 words shows in every position and
	// nearly every number appears (expected misses: 999·e^-6 ≈ 2.5).
	for i, m := range words {
		if len(m) != 256 {
			t.Errorf("position %d: %d distinct words of 256", i, len(m))
		}
	}
	if len(offers) < 985 {
		t.Errorf("%d distinct offer numbers of %d", len(offers), pair.MaxOffer)
	}
	a, _ := pair.NewCode(seeded(7))
	b, _ := pair.NewCode(seeded(7))
	if a != b {
		t.Fatal("the same seed gave different codes")
	}
	if _, err := pair.NewCode(nil); err != nil {
		t.Fatalf("NewCode(nil): %v", err)
	}
}

func TestNewCodeBadSource(t *testing.T) {
	if _, err := pair.NewCode(bytes.NewReader([]byte{0, 1})); err == nil {
		t.Fatal("short random source accepted")
	}
	// 0x3ff and 0 are never offer numbers: the draw must give up.
	if _, err := pair.NewCode(bytes.NewReader(bytes.Repeat([]byte{0xff}, 1000))); err == nil {
		t.Fatal("a source with no number in range gave a code")
	}
}

func TestParseCodeTolerant(t *testing.T) {
	want := mustCode(t, "7-harp-tulip-violin")
	for _, s := range []string{
		"7-harp-tulip-violin",
		"  7-harp-tulip-violin\n",
		"7 HARP Tulip violin",
		"7.harp.tulip.violin",
		"007-harp-tulip-violin",
		"7 - harp -- tulip . violin",
		"-7-harp-tulip-violin-",
		"\t7\tharp\ttulip\tviolin",
	} {
		got, err := pair.ParseCode(s)
		if err != nil || got != want {
			t.Errorf("ParseCode(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if got := want.String(); got != "7-harp-tulip-violin" {
		t.Errorf("String() = %q", got)
	}
	if got := strings.Join(want.Words(), " "); got != "harp tulip violin" {
		t.Errorf("Words() = %q", got)
	}
}

func TestParseCodeErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // in the error message
	}{
		{"", "empty"},
		{" - . ", "empty"},
		{"harp-tulip-violin", "starts with a number, as in 7-harp"},
		{"0-harp-tulip-violin", "offer number 0 is not in 1-999"},
		{"1000-harp-tulip-violin", "offer number 1000 is not in 1-999"},
		{"99999999999999999999-harp-tulip-violin", "is not in 1-999"},
		{"7x-harp-tulip-violin", `"7x" is not an offer number`},
		{"+7-harp-tulip-violin", `"+7" is not an offer number`},
		{"7", "0 words after the number, want 3"},
		{"7-harp-tulip", "2 words after the number, want 3"},
		{"7-harp-tulip-violin-zebra", "4 words after the number, want 3"},
		{"7-harpp-tulip-violin", `"harpp" is not a code word (did you mean "harp"?)`},
		{"7-hrap-tulip-violin", `"hrap" is not a code word (did you mean "harp"?)`},
		{"7-harp-tulip-vilon", `"vilon" is not a code word (did you mean "violin"?)`},
		{"7-harp-tulip-xyzzyq", `"xyzzyq" is not a code word`},
		{"7-harp-tulip-violinist-extraordinaire", "4 words"},
		{"7-harp-tulip-" + strings.Repeat("x", 100), "characters, a code is much shorter"},
		{"7-harp-tulip-vïolin", `is not a code word`},
	}
	for _, tt := range tests {
		_, err := pair.ParseCode(tt.in)
		if !errors.Is(err, pair.ErrBadCode) {
			t.Errorf("ParseCode(%q) = %v, want ErrBadCode", tt.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCode(%q) = %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
	_, err := pair.ParseCode("7-harp-tulip-xyzzyq")
	if err != nil && strings.Contains(err.Error(), "did you mean") {
		t.Errorf("suggestion for a word far from every list word: %v", err)
	}
}

// TestParseCodeSuggestions: a typo as close to two words suggests both;
// among equally close words those with the typo's first letter win; too
// many candidates suggest nothing.
func TestParseCodeSuggestions(t *testing.T) {
	tests := []struct{ word, want string }{
		{"bool", `(did you mean "boot" or "bowl"?)`},
		{"vilon", `(did you mean "violin"?)`},
		{"tigre", `(did you mean "tiger"?)`},
		{"ocaen", `(did you mean "ocean"?)`},
		{"zz", `is not a code word`},
	}
	for _, tt := range tests {
		_, err := pair.ParseCode("7-harp-tulip-" + tt.word)
		if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want it to end in %s", tt.word, err, tt.want)
		}
	}
}

func TestCodeLogValue(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("offer", "code", mustCode(t, "7-harp-tulip-violin"))
	if out := buf.String(); strings.Contains(out, "harp") || !strings.Contains(out, "code.offer=7") {
		t.Fatalf("log line %q: want the number and no words", out)
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"7-harp-tulip-violin", "999 ZEBRA amber yoga", "0-a-b-c", "", "7-hrap-x-y", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := pair.ParseCode(s)
		if err != nil {
			if !errors.Is(err, pair.ErrBadCode) {
				t.Fatalf("ParseCode(%q): error %v does not wrap ErrBadCode", s, err)
			}
			return
		}
		back, err := pair.ParseCode(c.String())
		if err != nil || back != c {
			t.Fatalf("ParseCode(%q) = %q, which reads back as %v, %v", s, c, back, err)
		}
	})
}
