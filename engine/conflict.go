package engine

import (
	"fmt"
	"path"
	"strings"
	"time"

	"ferry/proto"
)

// conflictWinner picks between two concurrent versions the way every device
// does: a live file beats a deletion (an edit is never lost to a delete),
// then the later modification time wins, then the larger device ID, then the
// larger vector in its text form, so the choice is total.
func conflictWinner(a, b *proto.FileInfo) *proto.FileInfo {
	switch {
	case a.Deleted != b.Deleted:
		if a.Deleted {
			return b
		}
		return a
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

// conflictName names the copy that keeps a losing version:
// "dir/name.conflict-YYYYMMDD-HHMMSS-<device>.ext".
func conflictName(loser *proto.FileInfo) string {
	dir, base := path.Split(loser.Name)
	ext := path.Ext(base)
	if ext == base {
		ext = ""
	}
	stem := strings.TrimSuffix(base, ext)
	ts := time.Unix(0, loser.ModTime).UTC().Format("20060102-150405")
	return fmt.Sprintf("%s%s.conflict-%s-%s%s", dir, stem, ts, loser.ModifiedBy, ext)
}
