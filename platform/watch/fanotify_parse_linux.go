package watch

import (
	"bytes"
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Sizes of the fixed parts of what a fanotify group reads (see
// fanotify(7)).
const (
	// fanMetadataSize is struct fanotify_event_metadata: event_len u32,
	// vers u8, reserved u8, metadata_len u16, mask u64, fd i32, pid i32.
	fanMetadataSize = 24
	// fanInfoHeaderSize is struct fanotify_event_info_header: info_type
	// u8, pad u8, len u16.
	fanInfoHeaderSize = 4
	// fanFidHeaderSize is an info header, the fsid ([2]int32) and the
	// head of struct file_handle (handle_bytes u32, handle_type i32).
	fanFidHeaderSize = fanInfoHeaderSize + 8 + 8
	// fanMaxHandleSize is MAX_HANDLE_SZ: no file handle is longer.
	fanMaxHandleSize = 128
)

// fanEvent is one event read from a fanotify group reporting directory
// file handles and names (FAN_REPORT_DFID_NAME). Its slices alias the
// buffer it was parsed from.
type fanEvent struct {
	mask uint64
	fd   int32 // an open file, or unix.FAN_NOFD
	// ok is false when the event's info records are malformed; the
	// fields below are then not set.
	ok bool
	// dir is whether a directory record was present: fsid, handleType
	// and handle identify the directory, name the entry in it. An
	// empty name or "." is the directory itself.
	dir        bool
	fsid       [2]int32
	handleType int32
	handle     []byte
	name       []byte
}

// parseFanEvent parses the first event in buf, which must not be empty,
// into ev and returns the rest of buf. An event whose info records are
// malformed is returned with ev.ok false, so that its file can still be
// closed. ok is false when the event's own header is malformed (a wrong
// version, a length shorter than the header or past the buffer): ev is
// then not set, and the rest of buf must be dropped, since the next event
// cannot be found.
func parseFanEvent(buf []byte, ev *fanEvent) (rest []byte, ok bool) {
	if len(buf) < fanMetadataSize {
		return nil, false
	}
	eventLen := binary.NativeEndian.Uint32(buf[0:])
	vers := buf[4]
	metaLen := binary.NativeEndian.Uint16(buf[6:])
	if vers != unix.FANOTIFY_METADATA_VERSION ||
		eventLen < fanMetadataSize || uint64(eventLen) > uint64(len(buf)) ||
		metaLen < fanMetadataSize || uint32(metaLen) > eventLen {
		return nil, false
	}
	*ev = fanEvent{
		mask: binary.NativeEndian.Uint64(buf[8:]),
		fd:   int32(binary.NativeEndian.Uint32(buf[16:])),
	}
	ev.ok = parseFanInfo(buf[metaLen:eventLen], ev)
	return buf[eventLen:], true
}

// parseFanInfo fills ev from the info records of one event and reports
// whether they were well formed. Records of other types are skipped; of
// several directory records, the first counts.
func parseFanInfo(info []byte, ev *fanEvent) bool {
	for len(info) > 0 {
		if len(info) < fanInfoHeaderSize {
			return false
		}
		typ := info[0]
		n := int(binary.NativeEndian.Uint16(info[2:]))
		if n < fanInfoHeaderSize || n > len(info) {
			return false
		}
		rec := info[:n]
		info = info[n:]
		if typ != unix.FAN_EVENT_INFO_TYPE_DFID_NAME && typ != unix.FAN_EVENT_INFO_TYPE_DFID {
			continue
		}
		if !parseFanDir(rec, typ == unix.FAN_EVENT_INFO_TYPE_DFID_NAME, ev) {
			return false
		}
	}
	return true
}

// parseFanDir parses one directory record (DFID or DFID_NAME) into ev,
// unless ev already has one, and reports whether it was well formed. A
// name must end in a NUL and be a single path component.
func parseFanDir(rec []byte, named bool, ev *fanEvent) bool {
	if len(rec) < fanFidHeaderSize {
		return false
	}
	handleLen := binary.NativeEndian.Uint32(rec[12:])
	body := rec[fanFidHeaderSize:]
	if handleLen > fanMaxHandleSize || uint64(handleLen) > uint64(len(body)) {
		return false
	}
	var name []byte
	if named {
		rest := body[handleLen:]
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			return false
		}
		name = rest[:end]
		if bytes.IndexByte(name, '/') >= 0 || string(name) == ".." {
			return false
		}
	}
	if ev.dir {
		return true
	}
	ev.dir = true
	ev.fsid = [2]int32{int32(binary.NativeEndian.Uint32(rec[4:])), int32(binary.NativeEndian.Uint32(rec[8:]))}
	ev.handleType = int32(binary.NativeEndian.Uint32(rec[16:]))
	ev.handle = body[:handleLen]
	ev.name = name
	return true
}
