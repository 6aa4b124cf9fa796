package engine

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ConflictCopy is what the name of a conflict copy made by
// numberedConflictName says: the name the losing version had, when it was
// written (to the second, UTC), the short ID of the device that wrote it,
// and the number that told it from an earlier copy (1 for the first).
type ConflictCopy struct {
	Original string
	Time     time.Time
	Device   string // a proto.ShortID as it prints
	N        int
}

// conflictTag starts the part numberedConflictName adds to a name.
const conflictTag = ".conflict-"

// conflictTail is what follows conflictTag: the time, the device, the
// number if above 1, and the original's extension, which holds no dot but
// its first.
var conflictTail = regexp.MustCompile(`^([0-9]{8}-[0-9]{6})-([0-9A-F]{7})(?:-([1-9][0-9]{0,8}))?(\.[^.]*)?$`)

// ParseConflictName reads name as that of a conflict copy; ok is false
// when numberedConflictName makes name from no name. At most one reading
// fits: the extension is what follows the name's last dot, or nothing, and
// so the tag starts at the last dot but one, or at the last one.
func ParseConflictName(name string) (c ConflictCopy, ok bool) {
	dir, base := path.Split(name)
	for end := len(base); end > 0; {
		i := strings.LastIndex(base[:end], conflictTag)
		if i <= 0 {
			break
		}
		end = i
		if c, ok := readConflict(base[:i], base[i+len(conflictTag):]); ok {
			c.Original = dir + c.Original
			return c, true
		}
	}
	return ConflictCopy{}, false
}

// readConflict reads the base name stem + conflictTag + tail as a
// conflict copy's.
func readConflict(stem, tail string) (ConflictCopy, bool) {
	m := conflictTail.FindStringSubmatch(tail)
	if m == nil {
		return ConflictCopy{}, false
	}
	t, err := time.Parse("20060102-150405", m[1])
	// A modification time in nanoseconds since 1970 in an int64 lies
	// between 1677 and 2262.
	if err != nil || t.Year() < 1678 || t.Year() > 2261 {
		return ConflictCopy{}, false
	}
	n := 1
	if m[3] != "" {
		if n, _ = strconv.Atoi(m[3]); n < 2 {
			return ConflictCopy{}, false
		}
	}
	if ext := m[4]; extOf(stem+ext) == ext {
		return ConflictCopy{Original: stem + ext, Time: t, Device: m[2], N: n}, true
	}
	return ConflictCopy{}, false // numberedConflictName would have cut the name elsewhere
}

// extOf is the extension numberedConflictName keeps at the end of base:
// from its last dot, none when that dot starts it.
func extOf(base string) string {
	if ext := path.Ext(base); ext != base {
		return ext
	}
	return ""
}
