package engine

import (
	"fmt"
	"hash/fnv"
	"path"
	"strings"
	"time"

	"ferry/proto"
)

// conflictWinner picks between two concurrent versions the way every device
// does: a live file beats a deletion (an edit is never lost to a delete), a
// directory beats a file or symlink (it may hold entries; the other is kept
// as a conflict copy), then the later modification time wins, then the
// larger device ID, then the larger vector in its text form, so the choice
// is total.
func conflictWinner(a, b *proto.FileInfo) *proto.FileInfo {
	aDir, bDir := a.Type == proto.FileTypeDir, b.Type == proto.FileTypeDir
	switch {
	case a.Deleted != b.Deleted:
		if a.Deleted {
			return b
		}
		return a
	case !a.Deleted && aDir != bDir:
		if aDir {
			return a
		}
		return b
	case a.ModTime != b.ModTime:
		if a.ModTime > b.ModTime {
			return a
		}
		return b
	case a.ModifiedBy != b.ModifiedBy:
		if a.ModifiedBy > b.ModifiedBy {
			return a
		}
		return b
	case a.Version.String() >= b.Version.String():
		return a
	}
	return b
}

// copyVersion is the version of the copy of loser kept at name: the loser's
// vector plus a counter of the copy's own, under an ID drawn from name and
// that vector. Every device that keeps the same loser at the same name makes
// the same version. The loser's vector alone would not do: versions of two
// names are unrelated, and a later loser at name with a vector equal by
// chance to that of an edit or deletion of an earlier copy there (the same
// device changing both in the same second from the same history) would
// look like that record while holding other content.
func copyVersion(loser *proto.FileInfo, name string) proto.Vector {
	h := fnv.New64a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(loser.Version.String()))
	return loser.Version.Update(proto.ShortID(h.Sum64()), 0)
}

// conflictName names the copy that keeps a losing version:
// "dir/name.conflict-YYYYMMDD-HHMMSS-<device>.ext".
func conflictName(loser *proto.FileInfo) string { return numberedConflictName(loser, 1) }

// numberedConflictName is the n-th choice of a conflict name, for when the
// first is taken: "name.conflict-YYYYMMDD-HHMMSS-<device>-<n>.ext".
func numberedConflictName(loser *proto.FileInfo, n int) string {
	dir, base := path.Split(loser.Name)
	ext := path.Ext(base)
	if ext == base {
		ext = ""
	}
	stem := strings.TrimSuffix(base, ext)
	ts := time.Unix(0, loser.ModTime).UTC().Format("20060102-150405")
	num := ""
	if n > 1 {
		num = fmt.Sprintf("-%d", n)
	}
	return fmt.Sprintf("%s%s.conflict-%s-%s%s%s", dir, stem, ts, loser.ModifiedBy, num, ext)
}
