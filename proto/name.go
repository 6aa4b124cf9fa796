package proto

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrInvalidName says a file name is not one ferry accepts on the wire or on
// disk. The wrapping error names the reason.
var ErrInvalidName = errors.New("invalid name")

const (
	// MaxNameLen is the longest name, in bytes, ferry accepts.
	MaxNameLen = 4096
	// MaxComponentLen is the longest path component, in bytes.
	MaxComponentLen = 255
	// internalPrefix starts every name ferry keeps for itself inside a folder.
	internalPrefix = ".ferry"
)

// ValidName checks that name is a file name relative to a folder root as it
// travels on the wire: valid UTF-8 in Unicode NFC, slash separated, not
// empty, not absolute, no backslashes, control characters, drive letter, or
// "", "." or ".." components, no trailing slash, no component that is one of
// ferry's own names (see IsInternalName), at most MaxNameLen bytes in all and
// MaxComponentLen per component. The error wraps ErrInvalidName.
//
// A name that passes cannot point outside the folder when joined to its root.
func ValidName(name string) error {
	if reason := nameProblem(name); reason != "" {
		return fmt.Errorf("%w %.100q: %s", ErrInvalidName, name, reason)
	}
	return nil
}

// IsInternalName reports whether a path component is one of ferry's own
// names (the marker directory ".ferry", temporary files ".ferry-tmp-*", ...),
// which are never synced. The test ignores case, because case-insensitive
// file systems treat ".Ferry" and ".ferry" as the same name.
func IsInternalName(component string) bool {
	return len(component) >= len(internalPrefix) &&
		strings.EqualFold(component[:len(internalPrefix)], internalPrefix)
}

// nameProblem returns why name is invalid, or "" when it is valid.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case len(name) > MaxNameLen:
		return fmt.Sprintf("longer than %d bytes", MaxNameLen)
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	case name[0] == '/':
		return "absolute"
	case name[len(name)-1] == '/':
		return "trailing slash"
	case strings.IndexByte(name, '\\') >= 0:
		return "contains a backslash"
	case hasDriveLetter(name):
		return "starts with a drive letter"
	}
	if i := strings.IndexFunc(name, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Sprintf("contains control character %U", r)
	}
	if !norm.NFC.IsNormalString(name) {
		return "not in Unicode NFC"
	}
	for comp := range strings.SplitSeq(name, "/") {
		if reason := componentProblem(comp); reason != "" {
			return reason
		}
	}
	return ""
}

func componentProblem(comp string) string {
	switch {
	case comp == "":
		return "empty component"
	case comp == "." || comp == "..":
		return fmt.Sprintf("%q component", comp)
	case len(comp) > MaxComponentLen:
		return fmt.Sprintf("component longer than %d bytes", MaxComponentLen)
	case IsInternalName(comp):
		return fmt.Sprintf("component %.40q is reserved for ferry", comp)
	}
	return ""
}

// hasDriveLetter reports whether name starts like a Windows drive ("C:").
func hasDriveLetter(name string) bool {
	if len(name) < 2 || name[1] != ':' {
		return false
	}
	c := name[0] | 0x20 // ASCII lower case
	return c >= 'a' && c <= 'z'
}
