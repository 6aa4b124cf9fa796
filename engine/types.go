package engine

import (
	"fmt"
	"time"

	"ferry/proto"
)

// FolderType says which way changes flow.
type FolderType int

const (
	SendReceive FolderType = iota
	SendOnly               // local changes are sent, remote ones never pulled
	ReceiveOnly            // remote changes are pulled, local ones never sent
)

// Config is the immutable configuration of one folder engine.
type Config struct {
	Folder       string
	Local        proto.DeviceID
	Type         FolderType
	Devices      []proto.DeviceID // devices the folder is shared with
	ScanInterval time.Duration    // 0: no periodic scans
	MaxPulls     int              // file operations in flight; default 32
	MaxHashes    int              // hash jobs in flight; default 64
	BatchFiles   int              // records per IndexUpdate; default 1000
	RetryAfter   time.Duration    // wait before retrying a failed operation; default 5s
	// MaxRemoteFiles bounds the records kept of each device: one that
	// announces more is refused. Default 10 million.
	MaxRemoteFiles int
	// Guard holds mass deletions for the user to confirm; zero: off.
	Guard Guard
	// TombstoneLifetime is how long a deletion record is kept; 0: for
	// ever. See expireTombstones.
	TombstoneLifetime time.Duration
	// DeleteDelay is how long a file a peer deleted stays before it is
	// removed here, so a rename whose new name arrives a moment later can
	// still copy its blocks locally; default 1s.
	DeleteDelay time.Duration
	// Names says which names the folder's file system can hold; nil: all,
	// and names that differ are different names. It is read when the
	// engine starts; a ConfigChange keeps the engine's.
	Names Names
	// History says this device keeps old versions: an operation that
	// replaces or removes a local file names it in Keep (see Keep).
	History bool
	// SweepBatch is how many names a sweep (see syncer.sweep) recomputes
	// at a time; default 1024. A sweep waits while more than 8 times as
	// many changed names wait for their commit.
	SweepBatch int
}

// Validate fills defaults and checks the config.
func (c *Config) Validate() error {
	if c.Folder == "" {
		return fmt.Errorf("config: folder ID is empty")
	}
	if c.Local.IsZero() {
		return fmt.Errorf("config: local device ID is empty")
	}
	if c.MaxPulls <= 0 {
		c.MaxPulls = 32
	}
	if c.MaxHashes <= 0 {
		c.MaxHashes = 64
	}
	if c.BatchFiles <= 0 {
		c.BatchFiles = 1000
	}
	if c.SweepBatch <= 0 {
		c.SweepBatch = 1024
	}
	c.BatchFiles = min(c.BatchFiles, proto.MaxUpdateFiles) // what a peer takes
	if c.MaxRemoteFiles <= 0 {
		c.MaxRemoteFiles = 10_000_000
	}
	if c.DeleteDelay <= 0 {
		c.DeleteDelay = time.Second
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 5 * time.Second
	}
	return nil
}

// Stored is what the index holds of one name: its records and summary.
type Stored struct {
	Name       string
	Local      *proto.FileInfo
	Remote     []RemoteFile
	Summary    Summary
	Summarized bool // the name has a stored summary
}

// Stat is what the driver saw on disk at a name.
type Stat struct {
	Name    string
	Type    proto.FileType
	Size    int64
	ModTime int64
	Mode    uint32
	Target  string
	Inode   uint64
	Mount   bool // a directory on another file system than the folder's root
}

// Expect says what must be on disk at a name before the driver may change it.
type Expect struct {
	Absent bool
	Stat   Stat
}

// PeerIndex says how much of a peer's index of this folder is stored.
type PeerIndex struct {
	IndexID  uint64
	Sequence int64
}

// State is what a driver loads from the index to start an engine.
type State struct {
	IndexID      uint64
	LastSequence int64
	Peers        map[proto.DeviceID]PeerIndex
}

// Store is the engine's read-only view of the committed index.
type Store interface {
	// Each calls fn for every record; local records have the zero device.
	// The engine calls it only to verify the index (VerifySummaries).
	Each(fn func(dev proto.DeviceID, f proto.FileInfo) error) error
	// Lookup returns what the index holds of name.
	Lookup(name string) (Stored, error)
	// Range returns what the index holds of up to limit names with a
	// summary that start with prefix, after the name after, in byte order.
	// While the index is not Summarized, it is the names with records.
	Range(prefix, after string, limit int) ([]Stored, error)
	// LocalSince returns up to limit local records whose sequence is
	// above seq, in sequence order.
	LocalSince(seq int64, limit int) ([]proto.FileInfo, error)
	// Needs returns up to limit names of the need list whose summary has
	// the given kind of work, in byte order after the name after, or with
	// reverse in reverse byte order before it ("" starts at the end).
	Needs(kind NeedKind, after string, reverse bool, limit int) ([]string, error)
	// CountRemote returns how many records of dev the index holds.
	CountRemote(dev proto.DeviceID) (int, error)
	// RemoteDevices returns the devices the index holds records of.
	RemoteDevices() ([]proto.DeviceID, error)
	// BlockSource finds a local file holding the block with hash h.
	BlockSource(h proto.Hash) (name string, offset int64, ok bool, err error)
	// Summarized reports whether every name has its stored summary: an
	// index written before summaries were kept has none, and the engine
	// writes them all once.
	Summarized() (bool, error)
	// Summaries returns up to limit stored summaries of the names that
	// start with prefix, after the name after, in byte order.
	Summaries(prefix, after string, limit int) ([]Summary, error)
}
