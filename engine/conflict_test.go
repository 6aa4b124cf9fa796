package engine

import (
	"testing"
	"time"

	"ferry/proto"
)

func TestConflictWinner(t *testing.T) {
	live := func(mtime int64, by byte, v proto.Vector) *proto.FileInfo {
		return &proto.FileInfo{Name: "x", ModTime: mtime, ModifiedBy: dev(by).Short(), Version: v}
	}
	gone := func(mtime int64, by byte, v proto.Vector) *proto.FileInfo {
		f := live(mtime, by, v)
		f.Deleted = true
		return f
	}
	typed := func(f *proto.FileInfo, t proto.FileType) *proto.FileInfo {
		f.Type = t
		return f
	}
	for _, tc := range []struct {
		name  string
		a, b  *proto.FileInfo
		aWins bool
	}{
		{"edit beats delete", live(1, 0x11, vec(0x11, 1)), gone(9, 0x22, vec(0x22, 1)), true},
		{"delete loses to edit", gone(9, 0x22, vec(0x22, 1)), live(1, 0x11, vec(0x11, 1)), false},
		{"later mtime wins", live(2, 0x11, vec(0x11, 1)), live(1, 0x22, vec(0x22, 1)), true},
		{"earlier mtime loses", live(1, 0x22, vec(0x22, 1)), live(2, 0x11, vec(0x11, 1)), false},
		{"same mtime: larger device wins", live(1, 0x22, vec(0x22, 1)), live(1, 0x11, vec(0x11, 1)), true},
		{"same mtime: smaller device loses", live(1, 0x11, vec(0x11, 1)), live(1, 0x22, vec(0x22, 1)), false},
		{"two deletions: later mtime wins", gone(3, 0x11, vec(0x11, 1)), gone(2, 0x22, vec(0x22, 1)), true},
		{"directory beats later file", typed(live(1, 0x11, vec(0x11, 1)), proto.FileTypeDir), live(9, 0x22, vec(0x22, 1)), true},
		{"later symlink loses to directory", typed(live(9, 0x22, vec(0x22, 1)), proto.FileTypeSymlink), typed(live(1, 0x11, vec(0x11, 1)), proto.FileTypeDir), false},
		{"deleted directories: later wins", typed(gone(1, 0x11, vec(0x11, 1)), proto.FileTypeDir), gone(9, 0x22, vec(0x22, 1)), false},
		{"all equal but vector: larger text wins", live(1, 0x11, vec(0x11, 2, 0x22, 1)), live(1, 0x11, vec(0x11, 1, 0x22, 2)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.b
			if tc.aWins {
				want = tc.a
			}
			if got := conflictWinner(tc.a, tc.b); got != want {
				t.Errorf("winner %v, want %v", got, want)
			}
			if got := conflictWinner(tc.b, tc.a); got != want {
				t.Errorf("with arguments swapped: winner %v, want %v", got, want)
			}
		})
	}
}

func TestConflictName(t *testing.T) {
	mtime := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC).UnixNano()
	by := dev(0xab).Short() // prints as ABABABA
	for _, tc := range []struct {
		name string
		n    int
		want string
	}{
		{"notes.txt", 1, "notes.conflict-20260304-050607-ABABABA.txt"},
		{"dir/sub/photo.jpeg", 1, "dir/sub/photo.conflict-20260304-050607-ABABABA.jpeg"},
		{"Makefile", 1, "Makefile.conflict-20260304-050607-ABABABA"},
		{".bashrc", 1, ".bashrc.conflict-20260304-050607-ABABABA"},
		{"archive.tar.gz", 1, "archive.tar.conflict-20260304-050607-ABABABA.gz"},
		{"dir.d/noext", 1, "dir.d/noext.conflict-20260304-050607-ABABABA"},
		{"grüße/日本.txt", 1, "grüße/日本.conflict-20260304-050607-ABABABA.txt"},
		{"notes.txt", 2, "notes.conflict-20260304-050607-ABABABA-2.txt"},
		{"Makefile", 3, "Makefile.conflict-20260304-050607-ABABABA-3"},
	} {
		f := &proto.FileInfo{Name: tc.name, ModTime: mtime, ModifiedBy: by}
		if got := numberedConflictName(f, tc.n); got != tc.want {
			t.Errorf("numberedConflictName(%q, %d) = %q, want %q", tc.name, tc.n, got, tc.want)
		}
		if tc.n == 1 {
			if got := conflictName(f); got != tc.want {
				t.Errorf("conflictName(%q) = %q, want %q", tc.name, got, tc.want)
			}
		}
		if err := proto.ValidName(numberedConflictName(f, tc.n)); err != nil {
			t.Errorf("conflict name of %q is not valid: %v", tc.name, err)
		}
	}
}

func TestCopyVersion(t *testing.T) {
	loser := &proto.FileInfo{Name: "x.txt", Version: vec(0x11, 5, 0x22, 1)}
	a := copyVersion(loser, "x.conflict-1.txt")
	if !a.Equal(copyVersion(loser, "x.conflict-1.txt")) {
		t.Error("two devices keeping the same loser at the same name make different versions")
	}
	if a.Compare(loser.Version) != proto.Greater || len(a) != len(loser.Version)+1 {
		t.Errorf("copy version %v, want the loser's %v and one counter more", a, loser.Version)
	}
	if a.Equal(copyVersion(loser, "x.conflict-2.txt")) {
		t.Error("copies at two names have the same version")
	}
	other := &proto.FileInfo{Name: "x.txt", Version: vec(0x11, 6, 0x22, 1)}
	if o := copyVersion(other, "x.conflict-1.txt").Compare(a.Update(dev(0x11).Short(), 6)); o == proto.Equal {
		t.Error("a later loser's copy equals an edit of the earlier copy")
	}
}
