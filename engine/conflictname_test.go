package engine

import (
	"fmt"
	"testing"
	"time"

	"ferry/proto"
)

// Every name numberedConflictName makes reads back as a copy of the name
// it came from, with its time, device and number.
func TestParseConflictNameRoundTrip(t *testing.T) {
	mtime := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	by := dev(0xab).Short()
	names := []string{
		"notes.txt", "dir/sub/photo.jpeg", "Makefile", ".bashrc", "archive.tar.gz", "dir.d/noext",
		"grüße/日本.txt", "a.", "..x", "a b (1).txt", "x.conflict-20260101-000000-ABCDEF0",
		"notes.conflict-20260101-000000-ABCDEF0.txt", "x.conflict-", "-2.txt", "a.conflict-2026.txt",
	}
	for _, name := range names {
		for _, n := range []int{1, 2, 17} {
			f := &proto.FileInfo{Name: name, ModTime: mtime.UnixNano(), ModifiedBy: by}
			copyName := numberedConflictName(f, n)
			want := ConflictCopy{Original: name, Time: mtime.Truncate(time.Second), Device: by.String(), N: n}
			if got, ok := ParseConflictName(copyName); !ok || got != want {
				t.Errorf("ParseConflictName(%q) = %+v, %t, want %+v", copyName, got, ok, want)
			}
		}
	}
}

func TestParseConflictName(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 1, 2, 0, time.UTC)
	for _, tc := range []struct {
		name string
		want string // the original, "" for no copy
		n    int
	}{
		{"notes.conflict-20261204-200102-ABCDEF0.txt", "notes.txt", 1},
		{"d/notes.conflict-20261204-200102-ABCDEF0-3.txt", "d/notes.txt", 3},
		{"Makefile.conflict-20261204-200102-0123456", "Makefile", 1},
		{".bashrc.conflict-20261204-200102-0123456", ".bashrc", 1},
		{"a.tar.conflict-20261204-200102-0123456.gz", "a.tar.gz", 1},
		// A copy of a copy reads as one, of the copy.
		{"n.conflict-20261204-200102-ABCDEF0.conflict-20261204-200102-0123456.txt",
			"n.conflict-20261204-200102-ABCDEF0.txt", 1},
		// The copy of a file named like a copy, without an extension: the
		// name's last dot starts the extension, so the tag is the first.
		{"x.conflict-20261204-200102-0123456.conflict-20261204-200102-ABCDEF0",
			"x.conflict-20261204-200102-ABCDEF0", 1},
		// Not copies.
		{"notes.txt", "", 0},
		{".conflict-20261204-200102-ABCDEF0.txt", "", 0},
		{"d/.conflict-20261204-200102-ABCDEF0", "", 0},
		{"notes.conflict-20261204-200102-abcdef0.txt", "", 0},
		{"notes.conflict-20261204-200102-ABCDEF.txt", "", 0},
		{"notes.conflict-20261304-200102-ABCDEF0.txt", "", 0},
		{"notes.conflict-20261204-200102-ABCDEF0-1.txt", "", 0},
		{"notes.conflict-20261204-200102-ABCDEF0-0.txt", "", 0},
		{"notes.conflict-20261204-200102-ABCDEF0.tar.gz", "", 0},
		{"notes.conflict-20261204-200102-ABCDEF0x", "", 0},
		{"a.conflict-20261204-200102-ABCDEF0/b.txt", "", 0},
		// ".x" as the whole rest of the name: numberedConflictName keeps
		// no extension for ".x", so this is no copy of ".x".
		{".conflict-20261204-200102-ABCDEF0.x", "", 0},
	} {
		got, ok := ParseConflictName(tc.name)
		if ok != (tc.want != "") || got.Original != tc.want {
			t.Errorf("ParseConflictName(%q) = %+v, %t; want a copy of %q", tc.name, got, ok, tc.want)
			continue
		}
		if ok && (got.N != tc.n || !got.Time.Equal(at)) {
			t.Errorf("ParseConflictName(%q) = %+v, want n %d at %s", tc.name, got, tc.n, at)
		}
	}
}

func FuzzParseConflictName(f *testing.F) {
	f.Add("notes.conflict-20261204-200102-ABCDEF0-2.txt")
	f.Add("x.conflict-20261204-200102-0123456.conflict-20261204-200102-ABCDEF0")
	f.Fuzz(func(t *testing.T, name string) {
		c, ok := ParseConflictName(name)
		if !ok {
			return
		}
		if c.Original == "" || c.Original == name {
			t.Fatalf("%q reads as a copy of %q", name, c.Original)
		}
		f := &proto.FileInfo{Name: c.Original, ModTime: c.Time.UnixNano(), ModifiedBy: shortOf(t, c.Device)}
		if got := numberedConflictName(f, c.N); got != name {
			t.Fatalf("%q reads as copy %d of %q, whose name would be %q", name, c.N, c.Original, got)
		}
	})
}

// shortOf is a short ID that prints as s, seven hex digits.
func shortOf(t *testing.T, s string) proto.ShortID {
	var v uint64
	if _, err := fmt.Sscanf(s+"000000000", "%016X", &v); err != nil {
		t.Fatalf("short ID %q: %v", s, err)
	}
	return proto.ShortID(v)
}
