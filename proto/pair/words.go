package pair

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

// wordsTxt is the fixed word list of pairing codes, one word a line, sorted.
// Changing it changes what every code means: devices with different lists
// cannot pair, so it is part of the protocol version.
//
//go:embed words.txt
var wordsTxt string

// wordList holds the code words in order and the index of each.
type wordList struct {
	words []string
	index map[string]uint8
}

// codeWords is the parsed list. It is built once and never changed.
var codeWords = mustWordList(wordsTxt)

// wordPattern is what every word in the list looks like.
var wordPattern = regexp.MustCompile(`^[a-z]{3,8}$`)

// mustWordList parses the embedded list; a malformed list is a build error,
// which the package's tests catch.
func mustWordList(txt string) wordList {
	wl, err := parseWordList(txt)
	if err != nil {
		panic(err)
	}
	return wl
}

// parseWordList checks the list: exactly 256 lowercase words of 3 to 8
// letters, no duplicates.
func parseWordList(txt string) (wordList, error) {
	words := strings.Fields(txt)
	if len(words) != 1<<wordBits {
		return wordList{}, fmt.Errorf("word list: %d words, want %d", len(words), 1<<wordBits)
	}
	wl := wordList{words: words, index: make(map[string]uint8, len(words))}
	for i, w := range words {
		if !wordPattern.MatchString(w) {
			return wordList{}, fmt.Errorf("word list: bad word %q", w)
		}
		if _, dup := wl.index[w]; dup {
			return wordList{}, fmt.Errorf("word list: %q twice", w)
		}
		wl.index[w] = uint8(i)
	}
	return wl, nil
}

// lookup returns the index of w.
func (wl wordList) lookup(w string) (uint8, bool) {
	i, ok := wl.index[w]
	return i, ok
}

// closest returns the list words nearest to w if they are within edit
// distance maxSuggestDistance: several when they tie, preferring those that
// start with w's first letter (rarely the one mistyped), and none when more
// than maxSuggestions remain.
func (wl wordList) closest(w string) []string {
	if w == "" || len(w) > 2*maxWordLen { // nothing in the list is near
		return nil
	}
	best, near := maxSuggestDistance+1, []string(nil)
	for _, cand := range wl.words {
		switch d := editDistance(w, cand); {
		case d > maxSuggestDistance:
		case d < best:
			best, near = d, []string{cand}
		case d == best:
			near = append(near, cand)
		}
	}
	var sameStart []string
	for _, cand := range near {
		if cand[0] == w[0] {
			sameStart = append(sameStart, cand)
		}
	}
	if len(sameStart) > 0 {
		near = sameStart
	}
	if len(near) > maxSuggestions {
		return nil
	}
	return near
}

// editDistance is the optimal string alignment distance between a and b:
// the fewest single-byte insertions, deletions, substitutions and swaps of
// neighbours that turn one into the other.
func editDistance(a, b string) int {
	// prev2, prev and cur are three rows of the distance matrix.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
