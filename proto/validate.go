package proto

import (
	"fmt"
	"strings"
)

// MaxBlockSize is the largest block a FileInfo may list and a Request may ask
// for: a Response carrying it stays within MaxResponseSize.
const MaxBlockSize = MaxResponseSize - maxResponseHeader - 1

// maxMode holds every bit FileInfo.Mode may carry: permissions plus setuid,
// setgid and sticky.
const maxMode = 0o7777

// Validate checks the rules every file record on the wire must follow: a
// valid name (ValidName), a known type, no negative size or sequence, mode
// bits only, a version vector that is not empty, sorted by device and free of
// zero counters, and a block list that starts at offset 0, runs without gaps
// or overlaps and, for a live regular file, adds up to its size. Directories
// and symlinks have no blocks; only symlinks have a target. The error wraps
// ErrMalformed (and ErrInvalidName for a bad name).
func (f *FileInfo) Validate() error {
	if err := ValidName(f.Name); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if reason := fileProblem(f); reason != "" {
		return fmt.Errorf("%w: %s %.100q: %s", ErrMalformed, f.Type, f.Name, reason)
	}
	return nil
}

func fileProblem(f *FileInfo) string {
	switch {
	case f.Type > FileTypeSymlink:
		return "unknown type"
	case f.Size < 0:
		return fmt.Sprintf("negative size %d", f.Size)
	case f.Sequence < 0:
		return fmt.Sprintf("negative sequence %d", f.Sequence)
	case f.Mode&^maxMode != 0:
		return fmt.Sprintf("mode %o has bits other than permissions", f.Mode)
	case f.Type != FileTypeSymlink && f.Target != "":
		return "target on a non-symlink"
	case strings.IndexByte(f.Target, 0) >= 0:
		return "NUL in symlink target"
	case f.Type != FileTypeFile && len(f.Blocks) > 0:
		return "blocks on a non-file"
	}
	if reason := vectorProblem(f.Version); reason != "" {
		return reason
	}
	if f.Delta != nil {
		return deltaProblem(f)
	}
	return blocksProblem(f)
}

// deltaProblem checks a record sent as a block-list delta: a live file, a
// valid base version, and middle blocks that are contiguous among
// themselves. That they cover the file is checked once the delta is applied.
func deltaProblem(f *FileInfo) string {
	d := f.Delta
	switch {
	case !f.IsFile():
		return "block-list delta on something other than a live file"
	case d.Prefix < 0 || d.Suffix < 0 || d.Prefix > MaxDeltaKeep || d.Suffix > MaxDeltaKeep:
		return fmt.Sprintf("delta keeps %d+%d blocks", d.Prefix, d.Suffix)
	}
	if reason := vectorProblem(d.Base); reason != "" {
		return "delta base: " + reason
	}
	for i, b := range f.Blocks {
		if b.Size <= 0 || b.Size > MaxBlockSize {
			return fmt.Sprintf("block %d has size %d", i, b.Size)
		}
		if i > 0 && b.Offset != f.Blocks[i-1].Offset+int64(f.Blocks[i-1].Size) {
			return fmt.Sprintf("block %d at offset %d is not contiguous", i, b.Offset)
		}
	}
	return ""
}

// vectorProblem checks that v is a non-empty version vector whose counters
// are sorted by strictly increasing ID, none zero and none above MaxCounter.
func vectorProblem(v Vector) string {
	if len(v) == 0 {
		return "empty version vector"
	}
	for i, c := range v {
		if c.Value == 0 {
			return fmt.Sprintf("zero counter for %s in version", c.ID)
		}
		if c.Value > MaxCounter {
			return fmt.Sprintf("counter %d for %s in version is beyond the largest allowed (%d)", c.Value, c.ID, uint64(MaxCounter))
		}
		if i > 0 && v[i-1].ID >= c.ID {
			return fmt.Sprintf("version vector not sorted at %d", i)
		}
	}
	return ""
}

// blocksProblem checks that f's blocks are contiguous from offset 0, each
// between 1 and MaxBlockSize bytes, and cover a live regular file exactly.
func blocksProblem(f *FileInfo) string {
	var next int64
	for i, b := range f.Blocks {
		if b.Offset != next {
			return fmt.Sprintf("block %d at offset %d, want %d", i, b.Offset, next)
		}
		if b.Size <= 0 || b.Size > MaxBlockSize {
			return fmt.Sprintf("block %d has size %d", i, b.Size)
		}
		next += int64(b.Size) // blocks are < 2^24 bytes: no overflow
	}
	if f.IsFile() && next != f.Size {
		return fmt.Sprintf("blocks cover %d bytes of %d", next, f.Size)
	}
	return ""
}

// validateMessage applies the rules of m's type.
func validateMessage(m Message) error {
	switch m := m.(type) {
	case *Hello:
		return validateHello(m)
	case *IndexUpdate:
		return validateIndexUpdate(m)
	case *Request:
		return validateRequest(m)
	case *Response:
		return validateResponse(m)
	case *HistoryRequest:
		return validateHistoryRequest(m)
	case *HistoryResponse:
		return validateHistoryResponse(m)
	case *Relay:
		return validateRelay(m)
	case *Ping, *Close:
		return nil
	case nil:
		return fmt.Errorf("%w: nil message", ErrMalformed)
	}
	return fmt.Errorf("%w: unknown message type %T", ErrMalformed, m)
}

// validateHello checks a Hello: at most MaxHelloFolders folders, each with
// an ID and listed once, none with a negative sequence.
func validateHello(h *Hello) error {
	if len(h.Folders) > MaxHelloFolders {
		return fmt.Errorf("%w: hello lists %d folders, limit %d", ErrMalformed, len(h.Folders), MaxHelloFolders)
	}
	seen := make(map[string]bool, len(h.Folders))
	for i, f := range h.Folders {
		switch {
		case f.ID == "":
			return fmt.Errorf("%w: hello: folder %d has no ID", ErrMalformed, i)
		case seen[f.ID]:
			return fmt.Errorf("%w: hello: folder %.100q listed more than once", ErrMalformed, f.ID)
		case f.MaxSequence < 0 || f.SeenSequence < 0:
			return fmt.Errorf("%w: hello: folder %q has a negative sequence", ErrMalformed, f.ID)
		}
		seen[f.ID] = true
	}
	return nil
}

func validateIndexUpdate(u *IndexUpdate) error {
	if u.Folder == "" {
		return fmt.Errorf("%w: index update without folder", ErrMalformed)
	}
	if len(u.Files) > MaxUpdateFiles {
		return fmt.Errorf("%w: index update of %q with %d files, limit %d", ErrMalformed, u.Folder, len(u.Files), MaxUpdateFiles)
	}
	counters := 0
	for i := range u.Files {
		counters += len(u.Files[i].Version)
		if d := u.Files[i].Delta; d != nil {
			counters += len(d.Base)
		}
	}
	if counters > MaxUpdateCounters {
		return fmt.Errorf("%w: index update of %q with %d version counters, limit %d", ErrMalformed, u.Folder, counters, MaxUpdateCounters)
	}
	for i := range u.Files {
		if err := u.Files[i].Validate(); err != nil {
			return fmt.Errorf("index update of %q: file %d: %w", u.Folder, i, err)
		}
	}
	return nil
}

func validateRequest(r *Request) error {
	if r.Folder == "" {
		return fmt.Errorf("%w: request %d without folder", ErrMalformed, r.ID)
	}
	if err := ValidName(r.Name); err != nil {
		return fmt.Errorf("%w: request %d: %w", ErrMalformed, r.ID, err)
	}
	if r.Offset < 0 || r.Size <= 0 || r.Size > MaxBlockSize {
		return fmt.Errorf("%w: request %d: bad range %d+%d", ErrMalformed, r.ID, r.Offset, r.Size)
	}
	return nil
}

func validateHistoryRequest(r *HistoryRequest) error {
	if r.Folder == "" {
		return fmt.Errorf("%w: history request %d without folder", ErrMalformed, r.ID)
	}
	for _, name := range []string{r.Name, r.After} {
		if name == "" {
			continue
		}
		if err := ValidName(name); err != nil {
			return fmt.Errorf("%w: history request %d: %w", ErrMalformed, r.ID, err)
		}
	}
	if r.Name != "" && (r.At != 0 || r.After != "") {
		return fmt.Errorf("%w: history request %d: a moment or a starting name is for a whole folder", ErrMalformed, r.ID)
	}
	return nil
}

// validateHistoryResponse checks the count, the code and each version's
// file: a live regular file with a valid record.
func validateHistoryResponse(r *HistoryResponse) error {
	switch {
	case r.Code < CodeOK || r.Code > CodeChanged:
		return fmt.Errorf("%w: history response %d: unknown code %d", ErrMalformed, r.ID, r.Code)
	case len(r.Versions) > MaxHistoryVersions:
		return fmt.Errorf("%w: history response %d: %d versions, limit %d", ErrMalformed, r.ID, len(r.Versions), MaxHistoryVersions)
	case r.Code != CodeOK && len(r.Versions) > 0:
		return fmt.Errorf("%w: history response %d: versions with error code %d", ErrMalformed, r.ID, r.Code)
	}
	for i := range r.Versions {
		f := &r.Versions[i].File
		if f.Deleted || f.Type != FileTypeFile || f.Delta != nil {
			return fmt.Errorf("%w: history response %d: version %d is not a whole regular file", ErrMalformed, r.ID, i)
		}
		if err := f.Validate(); err != nil {
			return fmt.Errorf("history response %d: version %d: %w", r.ID, i, err)
		}
	}
	return nil
}

func validateResponse(r *Response) error {
	if r.Code < CodeOK || r.Code > CodeChanged {
		return fmt.Errorf("%w: response %d: unknown code %d", ErrMalformed, r.ID, r.Code)
	}
	if r.Code != CodeOK && len(r.Data) > 0 {
		return fmt.Errorf("%w: response %d: data with error code %d", ErrMalformed, r.ID, r.Code)
	}
	return nil
}

// validateRelay checks a Relay: an open or an arrival names a device, data carries 1 to
// MaxRelayData bytes, an ack some credit, and no field belongs to another
// kind.
func validateRelay(r *Relay) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: relay stream %d: %s", ErrMalformed, r.Stream, why)
	}
	switch {
	case r.Kind < RelayOpen || r.Kind > RelayArrive:
		return bad(fmt.Sprintf("kind %d", r.Kind))
	case (r.Kind == RelayOpen || r.Kind == RelayArrive) == r.Peer.IsZero():
		return bad("a device named in a message other than an open or arrival, or one without")
	case (r.Kind == RelayData) == (len(r.Data) == 0):
		return bad("data in a message other than data, or data without bytes")
	case len(r.Data) > MaxRelayData:
		return bad(fmt.Sprintf("%d bytes of data, limit %d", len(r.Data), MaxRelayData))
	case (r.Kind == RelayAck) == (r.Credit == 0):
		return bad("credit in a message other than an ack, or an ack without credit")
	case r.Reason != "" && r.Kind != RelayClose:
		return bad("a reason in a message other than a close")
	case len(r.Reason) > MaxRelayReason:
		return bad(fmt.Sprintf("reason of %d bytes, limit %d", len(r.Reason), MaxRelayReason))
	}
	return nil
}
