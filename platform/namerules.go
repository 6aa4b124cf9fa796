package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// NameRules says which of the names that travel between devices (see
// proto.ValidName) a folder's file system can hold, and which of them it
// takes to be the same name. A name a peer has may be one Windows refuses
// ("CON.txt", "a:b", "notes."), or differ only in case from another, which
// Windows and macOS keep apart only on file systems set up to. The zero
// value accepts every name and keeps every name apart.
type NameRules struct {
	goos string
	fold bool // names that differ only in case are one name
}

// LocalNameRules are the rules of this system's usual file systems:
// Windows' restrictions on Windows, and names that differ only in case
// taken as one on Windows and macOS. Folder.NameRules looks at the folder's
// own file system instead.
func LocalNameRules() NameRules { return NameRulesFor(runtime.GOOS, foldsByDefault(runtime.GOOS)) }

// NameRulesFor returns the rules of a file system on the operating system
// goos (as runtime.GOOS) that takes names differing only in case to be the
// same name when caseInsensitive is set.
func NameRulesFor(goos string, caseInsensitive bool) NameRules {
	return NameRules{goos: goos, fold: caseInsensitive}
}

// foldsByDefault reports whether the usual file systems of goos ignore case:
// NTFS and APFS as they are set up unless asked otherwise.
func foldsByDefault(goos string) bool { return goos == "windows" || goos == "darwin" }

// CaseInsensitive reports whether names that differ only in case are one
// name under r.
func (r NameRules) CaseInsensitive() bool { return r.fold }

// Problem returns why name, valid as proto.ValidName says, cannot be stored
// under r, or "" when it can. It looks at the name alone; Fold tells which
// names clash with each other.
func (r NameRules) Problem(name string) string { return nameProblem(r.goos, name) }

// Fold returns the form under which r takes names to be the same: two names
// with equal forms are one name on disk. It is name itself on a file system
// that keeps case apart. Windows compares names by upper-casing each
// character; macOS, and Linux file systems that ignore case, fold case and
// ignore the Unicode form too.
func (r NameRules) Fold(name string) string {
	switch {
	case !r.fold:
		return name
	case r.goos == "windows":
		return strings.ToUpper(name)
	}
	return norm.NFC.String(cases.Fold().String(name))
}

// nameProblem returns why name cannot be stored on goos, "" when it can.
func nameProblem(goos, name string) string {
	if goos != "windows" {
		return ""
	}
	for comp := range strings.SplitSeq(name, "/") {
		if reason := windowsComponentProblem(comp); reason != "" {
			return reason
		}
	}
	return ""
}

// windowsInvalid are the printable characters Windows refuses in names.
const windowsInvalid = `<>:"|?*\`

// windowsComponentProblem returns why Windows cannot hold the path
// component comp, "" when it can.
func windowsComponentProblem(comp string) string {
	if comp == "" {
		return ""
	}
	if i := strings.IndexAny(comp, windowsInvalid); i >= 0 {
		return fmt.Sprintf("%.60q contains %q, which Windows does not allow in names", comp, comp[i:i+1])
	}
	if i := strings.IndexFunc(comp, func(r rune) bool { return r < 32 }); i >= 0 {
		return fmt.Sprintf("%.60q contains a control character, which Windows does not allow in names", comp)
	}
	switch comp[len(comp)-1] {
	case '.':
		return fmt.Sprintf("%.60q ends with a dot, which Windows drops from names", comp)
	case ' ':
		return fmt.Sprintf("%.60q ends with a space, which Windows drops from names", comp)
	}
	if isWindowsDevice(comp) {
		return fmt.Sprintf("%.60q is a device name reserved on Windows", comp)
	}
	return ""
}

// isWindowsDevice reports whether Windows takes comp for a device: CON,
// PRN, AUX, NUL, COM1-9, LPT1-9 (also with ¹ ² ³), CONIN$ and CONOUT$, in
// any case, alone or followed by spaces or an extension ("con.txt",
// "NUL .tar.gz"). Windows 11 allows some of these with an extension; older
// versions open the device, so they are refused on all.
func isWindowsDevice(comp string) bool {
	base, _, _ := strings.Cut(comp, ".")
	base = strings.TrimRight(base, " ")
	switch u := asciiUpper(base); u {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	default:
		if len(u) < 4 || u[:3] != "COM" && u[:3] != "LPT" {
			return false
		}
		switch u[3:] {
		case "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3":
			return true
		}
	}
	return false
}

// asciiUpper upper-cases the ASCII letters of s, as Windows does when it
// matches device names.
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// NameRules returns the rules of the folder's file system: those of this
// system (on Linux, Windows' for a FAT or exFAT file system), with whether
// case is ignored found on the folder's own file system where it can be
// told (a Linux folder on a case-insensitive file system, a macOS or
// Windows one set up to keep case apart).
func (f *Folder) NameRules() NameRules {
	fold := foldsByDefault(runtime.GOOS)
	if ci, ok := f.caseInsensitive(); ok {
		fold = ci
	}
	return NameRulesFor(f.rulesGOOS(), fold)
}

// IsNameRefused reports whether err says the file system refused a name
// itself: too long for it, or in a form it cannot hold. The same name fails
// the same way however often it is tried.
func IsNameRefused(err error) bool { return err != nil && isNameRefused(err) }

// caseInsensitive looks up the marker directory under an upper-case name:
// found and the same directory, the root's file system ignores case; not
// found, it keeps case apart. ok is false when the probe cannot tell.
func (f *Folder) caseInsensitive() (insensitive, ok bool) {
	marker, err := f.root.Lstat(markerDir)
	if err != nil {
		return false, false
	}
	other, err := f.root.Lstat(strings.ToUpper(markerDir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, true
	case err != nil:
		return false, false
	}
	if _, _, known := devIno(marker); known {
		return sameFile(marker, other), true
	}
	return other.IsDir(), true
}
