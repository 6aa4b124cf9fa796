package proto

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// HashSize is the size of a BLAKE3-256 block hash.
const HashSize = 32

// Hash is the BLAKE3-256 hash of a block.
type Hash [HashSize]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Block is one content-defined chunk of a file.
type Block struct {
	Offset int64
	Size   int32
	Hash   Hash
}

// FileType says what a FileInfo describes.
type FileType uint8

const (
	FileTypeFile FileType = iota
	FileTypeDir
	FileTypeSymlink
)

func (t FileType) String() string {
	switch t {
	case FileTypeFile:
		return "file"
	case FileTypeDir:
		return "dir"
	case FileTypeSymlink:
		return "symlink"
	}
	return fmt.Sprintf("FileType(%d)", uint8(t))
}

// FileInfo is the record of one name in a folder, as a device has it.
//
// Name is relative to the folder root, slash separated, Unicode NFC. ModTime
// is in nanoseconds since the Unix epoch; Mode holds permission bits only.
// Sequence is the announcing device's local sequence number for this record.
// ModifiedBy is the short ID of the device that made this version.
type FileInfo struct {
	// The fields are ordered so that the small ones share a word: a folder
	// holds a record per name and device, so each padding byte counts.
	Name       string
	Size       int64
	ModTime    int64
	Target     string // symlink target, as written, never followed
	Version    Vector
	Sequence   int64
	ModifiedBy ShortID
	Blocks     []Block
	// Delta, on the wire only, says Blocks is the middle of the block list:
	// the rest is taken from the sender's previous version (see MakeDelta).
	// Records are stored and used with the whole list, Delta nil.
	Delta *BlocksDelta
	Mode  uint32
	Type  FileType
	// Deleted marks a deletion record (a tombstone).
	Deleted bool
	// Confirmed marks a deletion the user confirmed after the mass-delete
	// guard of the device that made it held it.
	Confirmed bool

	// Local-only fields: never sent on the wire.
	Mount bool   // a directory on another file system than the folder's root
	Inode uint64 // inode number when scanned, 0 if unknown
}

// IsFile reports whether f is a live regular file.
func (f *FileInfo) IsFile() bool { return f.Type == FileTypeFile && !f.Deleted }

// SameContent reports whether a and b describe the same thing on disk: type,
// deletion, size, permissions, symlink target and block hashes. Modification
// times and versions are not compared.
func SameContent(a, b *FileInfo) bool {
	if a.Type != b.Type || a.Deleted != b.Deleted {
		return false
	}
	if a.Deleted {
		return true
	}
	if a.Size != b.Size || a.Mode != b.Mode || a.Target != b.Target {
		return false
	}
	return slices.Equal(a.Blocks, b.Blocks)
}

// Clone returns a deep copy of f.
func (f FileInfo) Clone() FileInfo {
	f.Version = slices.Clone(f.Version)
	f.Blocks = slices.Clone(f.Blocks)
	if f.Delta != nil {
		d := *f.Delta
		d.Base = slices.Clone(d.Base)
		f.Delta = &d
	}
	return f
}

func (f FileInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s{%s size=%d mode=%o mtime=%d v=%s seq=%d", f.Type, f.Name, f.Size, f.Mode, f.ModTime, f.Version, f.Sequence)
	if f.Deleted {
		b.WriteString(" deleted")
	}
	if f.Target != "" {
		fmt.Fprintf(&b, " ->%q", f.Target)
	}
	fmt.Fprintf(&b, " blocks=%d}", len(f.Blocks))
	return b.String()
}
