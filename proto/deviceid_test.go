package proto

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func randomID(r *rand.Rand) DeviceID {
	var id DeviceID
	for i := range id {
		id[i] = byte(r.Uint32())
	}
	return id
}

func TestDeviceIDRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ids := []DeviceID{{}, deviceIDOf(0xff)}
	for range 200 {
		ids = append(ids, randomID(r))
	}
	for _, id := range ids {
		s := id.String()
		if len(s) != 63 || strings.Count(s, "-") != 7 {
			t.Fatalf("%q: want 8 groups of 7 characters", s)
		}
		for _, form := range []string{s, strings.ToLower(s), strings.ReplaceAll(s, "-", ""), strings.ReplaceAll(s, "-", " "), "  " + s + "\n"} {
			got, err := ParseDeviceID(form)
			if err != nil || got != id {
				t.Fatalf("ParseDeviceID(%q) = %v, %v; want %v", form, got, err, id)
			}
		}
		text, err := id.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back DeviceID
		if err := back.UnmarshalText(text); err != nil || back != id {
			t.Fatalf("UnmarshalText(%q) = %v, %v", text, back, err)
		}
		if id.Abbrev() != s[:7] {
			t.Errorf("Abbrev %q, want %q", id.Abbrev(), s[:7])
		}
	}
}

func deviceIDOf(b byte) DeviceID {
	var id DeviceID
	for i := range id {
		id[i] = b
	}
	return id
}

// TestDeviceIDTypos replaces every character of printed IDs, one at a time,
// with every other character someone could type: each result is rejected.
func TestDeviceIDTypos(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	typed := b32Alphabet + "01890-!"
	for range 20 {
		id := randomID(r)
		s := id.String()
		for i := range len(s) {
			for _, c := range typed {
				if strings.EqualFold(string(c), s[i:i+1]) {
					continue
				}
				typo := s[:i] + string(c) + s[i+1:]
				got, err := ParseDeviceID(typo)
				if err == nil {
					t.Fatalf("typo %q of %q accepted as %v", typo, s, got)
				}
				if !errors.Is(err, ErrBadDeviceID) {
					t.Fatalf("typo %q: error %v does not wrap ErrBadDeviceID", typo, err)
				}
			}
		}
	}
}

func TestDeviceIDRejects(t *testing.T) {
	s := deviceIDOf(0x5a).String()
	plain := strings.ReplaceAll(s, "-", "")
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"one short", plain[:len(plain)-1]},
		{"one long", plain + "A"},
		{"one group missing", s[:len(s)-8]},
		{"doubled", s + s},
		{"not base32", strings.Repeat("1", len(plain))},
		{"non-ASCII", "É" + plain[2:]},
	} {
		if got, err := ParseDeviceID(tc.in); err == nil || !errors.Is(err, ErrBadDeviceID) {
			t.Errorf("%s: ParseDeviceID(%q) = %v, %v; want ErrBadDeviceID", tc.name, tc.in, got, err)
		}
	}
	var id DeviceID
	if err := id.UnmarshalText([]byte("not an id")); err == nil {
		t.Error("UnmarshalText accepted garbage")
	}
}

func TestShortID(t *testing.T) {
	id := deviceIDOf(0x11)
	id[7] = 0x99
	if got := id.Short(); got != 0x1111111111111199 {
		t.Errorf("Short = %x", uint64(got))
	}
	if got := id.Short().String(); got != "1111111" {
		t.Errorf("ShortID.String = %q", got)
	}
	if !(DeviceID{}).IsZero() || id.IsZero() {
		t.Error("IsZero is wrong")
	}
}
