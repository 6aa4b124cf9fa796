package pair

import (
	"slices"
	"strings"
	"testing"
)

// TestWordList checks the embedded list: 256 distinct words (a power of
// two, so a random byte picks one uniformly), sorted, of 3 to 8 lowercase
// letters, none a prefix of another, and no two within edit distance 1, so
// that a single typo never turns one word into another.
func TestWordList(t *testing.T) {
	words := codeWords.words
	if len(words) != 256 || len(words)&(len(words)-1) != 0 {
		t.Fatalf("%d words, want 256", len(words))
	}
	if !slices.IsSorted(words) {
		t.Error("list not sorted")
	}
	for i, w := range words {
		if !wordPattern.MatchString(w) || len(w) > maxWordLen {
			t.Errorf("bad word %q", w)
		}
		if j, ok := codeWords.lookup(w); !ok || int(j) != i {
			t.Errorf("lookup(%q) = %d, %v; want %d", w, j, ok, i)
		}
		for _, v := range words[i+1:] {
			if strings.HasPrefix(v, w) || strings.HasPrefix(w, v) {
				t.Errorf("%q and %q: one is a prefix of the other", w, v)
			}
			if d := editDistance(w, v); d < 2 {
				t.Errorf("%q and %q are %d edit apart", w, v, d)
			}
		}
	}
}

func TestParseWordList(t *testing.T) {
	good := strings.Join(codeWords.words, "\n")
	for _, tt := range []struct{ name, txt string }{
		{"short", strings.Join(codeWords.words[1:], "\n")},
		{"duplicate", strings.Replace(good, "zebra", "yoga", 1)},
		{"uppercase", strings.Replace(good, "zebra", "Zebra", 1)},
		{"too long", strings.Replace(good, "zebra", "zebrazebra", 1)},
	} {
		if _, err := parseWordList(tt.txt); err == nil {
			t.Errorf("%s: list accepted", tt.name)
		}
	}
	if _, err := parseWordList(good); err != nil {
		t.Fatal(err)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"harp", "harp", 0},
		{"harp", "hard", 1},
		{"harp", "hrap", 1}, // swapped neighbours count once
		{"harp", "harpp", 1},
		{"harp", "hap", 1},
		{"tiger", "tigre", 1},
		{"violin", "vilon", 2},
		{"zz", "pizza", 3},
		{"ca", "abc", 3}, // optimal string alignment, not full Damerau
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}
