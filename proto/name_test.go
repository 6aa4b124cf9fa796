package proto_test

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"ferry/proto"
)

var (
	comp255 = strings.Repeat("a", proto.MaxComponentLen)
	// 15 components of 255 bytes, two of 127 and 128, 16 slashes: 4096 bytes.
	name4096 = strings.Repeat(comp255+"/", 15) + strings.Repeat("b", 127) + "/" + strings.Repeat("c", 128)
)

// nameTests lists names and, for invalid ones, part of the error.
var nameTests = []struct {
	name   string
	reason string // "" for a valid name
}{
	{"a", ""},
	{"a/b/c", ""},
	{"file.txt", ""},
	{"日本語/ファイル.txt", ""},
	{"caf\u00e9/r\u00e9sum\u00e9.pdf", ""}, // NFC
	{"emoji 😀/x", ""},
	{"..a", ""},
	{"a..", ""},
	{"...", ""},
	{"a b/c d", ""},
	{"ferry/x.ferry", ""},
	{"a/.ferr", ""},
	{"a/x.ferry-tmp-1", ""},
	{".git/config", ""},
	{"C", ""},
	{"1:x", ""},
	{"a/C:x", ""},
	{comp255, ""},
	{name4096, ""},

	{"", "empty"},
	{"../x", `".." component`},
	{"..", `".." component`},
	{"a/..", `".." component`},
	{"a/../../b", `".." component`},
	{"./a", `"." component`},
	{".", `"." component`},
	{"a/./b", `"." component`},
	{"a//b", "empty component"},
	{"/etc/passwd", "absolute"},
	{"/", "absolute"},
	{"a/", "trailing slash"},
	{"C:/x", "drive letter"},
	{"c:x", "drive letter"},
	{"Z:", "drive letter"},
	{`a\..\b`, "backslash"},
	{`..\x`, "backslash"},
	{"a\x00b", "control character U+0000"},
	{"a\tb", "control character U+0009"},
	{"a\nb", "control character U+000A"},
	{"a\x7fb", "control character U+007F"},
	{"a\u0085b", "control character U+0085"},
	{"a\xffb", "UTF-8"},
	{"e\u0301", "NFC"},
	{"caf\u0065\u0301/x", "NFC"},
	{".ferry", "reserved"},
	{".ferry/x", "reserved"},
	{"a/.ferry-tmp-1", "reserved"},
	{".FERRY/x", "reserved"},
	{"a/.Ferry-Tmp-x/b", "reserved"},
	{comp255 + "a", "component longer"},
	{name4096 + "d", "longer than 4096"},
}

func TestValidName(t *testing.T) {
	for _, tt := range nameTests {
		err := proto.ValidName(tt.name)
		switch {
		case tt.reason == "" && err != nil:
			t.Errorf("ValidName(%.40q) = %v, want nil", tt.name, err)
		case tt.reason != "" && !errors.Is(err, proto.ErrInvalidName):
			t.Errorf("ValidName(%.40q) = %v, want ErrInvalidName", tt.name, err)
		case tt.reason != "" && !strings.Contains(err.Error(), tt.reason):
			t.Errorf("ValidName(%.40q) = %q, want reason %q", tt.name, err, tt.reason)
		}
	}
}

func TestIsInternalName(t *testing.T) {
	tests := map[string]bool{
		".ferry":          true,
		".ferry-tmp-1234": true,
		".ferryx":         true,
		".FeRrY":          true,
		"ferry":           false,
		".ferr":           false,
		"x.ferry":         false,
		"":                false,
		".":               false,
	}
	for comp, want := range tests {
		if got := proto.IsInternalName(comp); got != want {
			t.Errorf("IsInternalName(%q) = %v, want %v", comp, got, want)
		}
	}
}

// FuzzValidName checks that every accepted name is local, clean, NFC and free
// of ferry's own names.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a\\b", ".ferry/x", "e\u0301", "C:/x", "a//b", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if proto.ValidName(name) != nil {
			return
		}
		if !utf8.ValidString(name) || !norm.NFC.IsNormalString(name) {
			t.Fatalf("accepted %q: not UTF-8 NFC", name)
		}
		if path.Clean(name) != name || !filepath.IsLocal(name) || strings.ContainsAny(name, "\\\x00") {
			t.Fatalf("accepted %q: not a clean local path", name)
		}
		if len(name) >= 2 && name[1] == ':' && strings.ContainsRune("abcdefghijklmnopqrstuvwxyz", rune(name[0]|0x20)) {
			t.Fatalf("accepted %q: drive letter", name)
		}
		for comp := range strings.SplitSeq(name, "/") {
			if proto.IsInternalName(comp) || len(comp) > proto.MaxComponentLen {
				t.Fatalf("accepted %q: bad component %q", name, comp)
			}
		}
	})
}
