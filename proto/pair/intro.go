package pair

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Limits on an Intro. Together they keep an encoded Intro well inside one
// frame (see maxPlaintext).
const (
	MaxNameLen     = 64  // bytes of Intro.Name
	MaxAddrs       = 16  // entries of Intro.Addrs
	MaxAddrLen     = 255 // bytes of one address
	MaxFolders     = 256 // entries of Intro.Folders
	MaxFolderIDLen = 64  // bytes of Folder.ID
	MaxLabelLen    = 128 // bytes of Folder.Label
	maxReasonLen   = 256 // bytes of an abort reason
)

// errInvalidIntro says an Intro breaks the rules of Intro.Validate.
var errInvalidIntro = errors.New("invalid intro")

// Intro is what each side tells the other once the channel is up.
type Intro struct {
	// Name is the device's name for people: UTF-8, at most MaxNameLen
	// bytes, no control characters; may be empty.
	Name string
	// Addrs are the addresses the device listens on, "host:port". The host
	// may be empty or unspecified (":22000", "0.0.0.0:22000"): the receiver
	// fills in the address it sees the peer at, this package does not.
	Addrs []string
	// Folders are, from the offerer, the folders it offers to share and,
	// from the joiner, the ones it accepts: a subset of the offered IDs,
	// whose labels may be empty.
	Folders []Folder
}

// Folder names a shared folder.
type Folder struct {
	ID    string // non-empty, at most MaxFolderIDLen bytes, no control characters
	Label string // for people; at most MaxLabelLen bytes, may be empty
}

// Validate checks the limits and forms described on Intro and Folder, and
// that no folder ID appears twice.
func (in Intro) Validate() error {
	if reason := introProblem(in); reason != "" {
		return fmt.Errorf("%w: %s", errInvalidIntro, reason)
	}
	return nil
}

func introProblem(in Intro) string {
	if reason := textProblem(in.Name, MaxNameLen); reason != "" {
		return "name " + reason
	}
	if len(in.Addrs) > MaxAddrs {
		return fmt.Sprintf("%d addresses, at most %d", len(in.Addrs), MaxAddrs)
	}
	for _, a := range in.Addrs {
		if reason := addrProblem(a); reason != "" {
			return fmt.Sprintf("address %.100q: %s", a, reason)
		}
	}
	if len(in.Folders) > MaxFolders {
		return fmt.Sprintf("%d folders, at most %d", len(in.Folders), MaxFolders)
	}
	seen := make(map[string]bool, len(in.Folders))
	for i, f := range in.Folders {
		if reason := folderProblem(f); reason != "" {
			return fmt.Sprintf("folder %d: %s", i, reason)
		}
		if seen[f.ID] {
			return fmt.Sprintf("folder %q listed twice", f.ID)
		}
		seen[f.ID] = true
	}
	return ""
}

func folderProblem(f Folder) string {
	if f.ID == "" {
		return "empty ID"
	}
	if reason := textProblem(f.ID, MaxFolderIDLen); reason != "" {
		return "ID " + reason
	}
	if reason := textProblem(f.Label, MaxLabelLen); reason != "" {
		return "label " + reason
	}
	return ""
}

// textProblem checks that s is valid UTF-8 of at most max bytes without
// control characters.
func textProblem(s string, max int) string {
	switch {
	case len(s) > max:
		return fmt.Sprintf("of %d bytes, at most %d", len(s), max)
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("has control character %U", r)
		}
	}
	return ""
}

// addrProblem checks that a is "host:port" with a port in 1..65535 and a
// host without spaces or control characters (possibly empty).
func addrProblem(a string) string {
	if len(a) > MaxAddrLen {
		return fmt.Sprintf("%d bytes, at most %d", len(a), MaxAddrLen)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "not host:port"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "port is not in 1-65535"
	}
	for _, r := range host {
		if r <= ' ' || r == 0x7f || r >= utf8.RuneSelf {
			return "host has a space, control or non-ASCII character"
		}
	}
	return ""
}

// checkAccepted checks that every accepted folder ID is one of the offered.
func checkAccepted(offered, accepted []Folder) error {
	ids := make(map[string]bool, len(offered))
	for _, f := range offered {
		ids[f.ID] = true
	}
	for _, f := range accepted {
		if !ids[f.ID] {
			return fmt.Errorf("folder %q was not offered", f.ID)
		}
	}
	return nil
}
