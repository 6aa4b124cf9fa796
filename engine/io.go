package engine

import "ferry/proto"

// Input is something that happened, fed to the engine through Step.
type Input interface{ isInput() }

// Tick carries the injected clock's reading in Unix nanoseconds.
type Tick struct{ Now int64 }

// PeerUp says a device the folder is shared with connected and sent its Hello.
type PeerUp struct {
	Device proto.DeviceID
	Hello  proto.FolderHello
}

// PeerDown says a device disconnected.
type PeerDown struct{ Device proto.DeviceID }

// Received carries an index update from a peer.
type Received struct {
	From   proto.DeviceID
	Update *proto.IndexUpdate
}

// ScanRequest asks for a scan of a subtree ("" = the whole folder). ID, if
// not zero, is echoed in a ScanDone event when the scan's results are applied.
type ScanRequest struct {
	ID      uint64
	Subtree string
}

// ScanResult is what the driver found walking a subtree. Skipped names
// could not be read: nothing at or under them is taken as deleted.
type ScanResult struct {
	Subtree string
	After   string // the ScanOp's
	Entries []Stat
	Skipped []Skip
	Err     error
	// More says the walk stopped after the last entry: the names after
	// it come in the results of further ScanOps.
	More bool
}

// Skip is a name a walk could not read or left out, and why.
type Skip struct {
	Name string
	Err  error
	// Special says the name holds a special file, left out on purpose:
	// worth a status line only where a record says it was a file.
	Special bool
}

// ConfirmDeletes lets the deletions the guard held go out.
type ConfirmDeletes struct{}

// RevertDeletes undoes the deletions the guard held: files gone here are
// pulled back from peers, files a peer deleted are kept and sent back.
type RevertDeletes struct{}

// Acknowledge clears the warning about a mass change.
type Acknowledge struct{}

// HashResult is a hashed file, or why it could not be hashed.
type HashResult struct {
	Stat   Stat
	Blocks []proto.Block
	Err    error
}

// OpResult is the outcome of a file operation (pull, mkdir, symlink, delete).
type OpResult struct {
	Name     string
	Version  proto.Vector // the version the operation wrote
	Stat     Stat         // what is on disk at Name now (zero after a delete)
	Conflict *Stat        // the conflict copy made, if any
	Err      error
	// NotEmpty says a directory could not be deleted, or replaced by a file
	// or symlink, because it still has entries.
	NotEmpty bool
	// Changed says the local file changed since the operation was planned.
	Changed bool
	// NoSpace says the operation failed for want of disk space: new files
	// wait until RetryAfter, then one is tried again.
	NoSpace bool
	// BadName says the file system refused the name (too long for it,
	// characters it cannot hold): the version is not tried again until
	// its record changes or a scan looks at the name.
	BadName bool
}

// Saved says the index writes of every Ready up to Serial are committed.
// Until then the engine holds what they changed in memory; a driver that
// never says so keeps the whole folder there.
type Saved struct{ Serial uint64 }

// Sent says the message of an Outgoing with the given token has been
// written to its device's connection (its write buffer, which holds a
// bounded amount).
type Sent struct {
	Device proto.DeviceID
	Token  uint64
}

// Override makes a send-only folder's state the newest version everywhere:
// every name it keeps apart from the others gets a version that supersedes
// theirs. Other folder types ignore it.
type Override struct{}

// ConfigChange replaces the folder's configuration.
type ConfigChange struct{ Config Config }

// TempsCleaned is the outcome of a CleanTempsOp: how many leftover temp
// files were removed, and what could not be.
type TempsCleaned struct {
	Removed int
	Err     error
}

func (Tick) isInput()           {}
func (PeerUp) isInput()         {}
func (PeerDown) isInput()       {}
func (Received) isInput()       {}
func (ScanRequest) isInput()    {}
func (ScanResult) isInput()     {}
func (HashResult) isInput()     {}
func (OpResult) isInput()       {}
func (ConfigChange) isInput()   {}
func (ConfirmDeletes) isInput() {}
func (RevertDeletes) isInput()  {}
func (Acknowledge) isInput()    {}
func (TempsCleaned) isInput()   {}
func (Override) isInput()       {}
func (Saved) isInput()          {}
func (Sent) isInput()           {}

// Ready is the work the engine hands out, to be done in field order.
type Ready struct {
	Writes   Writes
	Messages []Outgoing
	Ops      []Op
	Events   []Event
	// Serial numbers the Readys in the order they are taken; a driver
	// names the last whose writes it committed in a Saved input.
	Serial uint64
}

// Empty reports whether there is nothing to do.
func (r *Ready) Empty() bool {
	return r.Writes.Empty() && len(r.Messages) == 0 && len(r.Ops) == 0 && len(r.Events) == 0
}

// Writes are index changes, committed in one transaction in this order:
// drops, remote records, local records, forgotten names, peer positions.
type Writes struct {
	DropRemote []proto.DeviceID
	Remote     []RemoteFile
	Local      []proto.FileInfo
	Forget     []string // names whose records, local and remote, are deleted
	Peers      map[proto.DeviceID]PeerIndex
	// Summaries are the new summaries of names whose records, or how they
	// stand against the global state, changed; written after the records.
	Summaries []Summary
	// Summarized says every name now has its summary: the index the
	// engine started from had none (see Store.Summarized).
	Summarized bool
}

// Records returns how many records and summaries w writes.
func (w *Writes) Records() int {
	return len(w.Remote) + len(w.Local) + len(w.Forget) + len(w.Summaries)
}

// Empty reports whether there is nothing to write.
func (w *Writes) Empty() bool {
	return len(w.DropRemote) == 0 && len(w.Remote) == 0 && len(w.Local) == 0 && len(w.Forget) == 0 && len(w.Peers) == 0 &&
		len(w.Summaries) == 0 && !w.Summarized
}

// Summary is what the index keeps of one name beside its records: what it
// adds to the folder's status and what work it needs, if any.
type Summary struct {
	Name        string
	Need        NeedKind
	Flags       uint8 // see shareLocal and the others
	LocalBytes  int64
	GlobalBytes int64
	// Gone says the name has no record left: its summary is deleted.
	Gone bool
}

// NeedKind is the work a name needs, in the order the need list is worked
// through.
type NeedKind uint8

const (
	NeedNone   NeedKind = iota
	NeedDir             // a directory to make, parents first
	NeedFile            // a file or symlink to fetch
	NeedDelete          // a deletion, children first
)

// RemoteFile is a record a peer announced.
type RemoteFile struct {
	Device proto.DeviceID
	File   proto.FileInfo
}

// Outgoing is a message for one peer.
type Outgoing struct {
	To  proto.DeviceID
	Msg proto.Message
	// Token, when not zero, asks the driver for a Sent input with it once
	// the message has been written out: the engine paces what it sends.
	Token uint64
}

// Op is a piece of I/O for the driver.
type Op interface{ isOp() }

// ScanOp asks the driver to walk a subtree and report a ScanResult.
//
// A walk may stop after some entries and say so (ScanResult.More): the
// engine asks for the rest with After set to the last name it got, once
// it has hashed enough of what came. Entries come in byte order of the
// whole names (the order Store.Range lists them in), which lets the engine
// compare them with the records a page at a time.
type ScanOp struct {
	Subtree string
	After   string // only names after this one; "" for all
}

// HashOp asks the driver to hash a file whose stat was seen as Stat and
// report a HashResult; if the file changes while it is read, Err says so.
type HashOp struct{ Stat Stat }

// PullOp asks the driver to build File at File.Name: copy blocks from Local
// where given, fetch the rest from Peers, verify every block, and commit only
// if Expect still holds. ConflictName, if set, receives what is there now.
type PullOp struct {
	File         proto.FileInfo
	Local        []LocalBlock // parallel to File.Blocks; empty Name = none
	Peers        []proto.DeviceID
	Expect       Expect
	ConflictName string
	Keep         *Keep
}

// Keep asks the driver to keep the local file an operation replaces or
// removes in the version history first, and to carry out the operation
// only once that is done. File is the local record of what is there: what
// the driver reads must match its blocks, or the file changed and the
// operation fails as changed.
type Keep struct {
	File proto.FileInfo
	Kind KeepKind
	By   proto.ShortID // the device whose change replaces it
}

// KeepKind says why a version leaves.
type KeepKind uint8

const (
	KeepReplaced KeepKind = iota + 1 // a newer version took its place
	KeepDeleted                      // it was deleted elsewhere
	KeepConflict                     // it lost a conflict (a copy is kept too)
	KeepReverted                     // a change made here was undone
)

// LocalBlock is where a block can be copied from locally.
type LocalBlock struct {
	Name   string
	Offset int64
}

// MkdirOp creates a directory (or updates its permissions and mtime).
type MkdirOp struct {
	File         proto.FileInfo
	Expect       Expect
	ConflictName string
	Keep         *Keep
}

// SymlinkOp creates a symbolic link.
type SymlinkOp struct {
	File         proto.FileInfo
	Expect       Expect
	ConflictName string
	Keep         *Keep
}

// DeleteOp removes what is at File.Name if it is still as expected.
type DeleteOp struct {
	File   proto.FileInfo
	Expect Expect
	Keep   *Keep
}

// CleanTempsOp asks the driver to remove the temp files in the folder and
// report TempsCleaned. The engine asks for it when no operation is in
// flight and no file waits to be pulled, so every temp file there is left
// over: by a crash, or by a pull whose version was replaced before it was
// done. Pulls may start while it runs; the driver keeps their temps.
type CleanTempsOp struct{}

func (ScanOp) isOp()       {}
func (HashOp) isOp()       {}
func (PullOp) isOp()       {}
func (MkdirOp) isOp()      {}
func (SymlinkOp) isOp()    {}
func (DeleteOp) isOp()     {}
func (CleanTempsOp) isOp() {}

// Event is something worth telling the user or a waiting caller.
type Event interface{ isEvent() }

// ScanDone says the scan requested with ID has been applied.
type ScanDone struct {
	ID  uint64
	Err error
}

// ConflictEvent says a conflict copy was made.
type ConflictEvent struct{ Name, Copy string }

// HeldEvent says the guard holds deletions: Local files vanished here, or
// Remote files a peer deleted, waiting for ConfirmDeletes or RevertDeletes.
type HeldEvent struct{ Local, Remote int }

// MassChangeEvent says a scan found a large share of the folder rewritten.
type MassChangeEvent struct{ Files int }

// UpgradeEvent reports the upgrade of an index written before summaries
// were kept (see Store.Summarized): Names have their summary so far, and
// Done says every name has.
type UpgradeEvent struct {
	Names int
	Done  bool
}

// OpFailed says a file operation failed and will be retried.
type OpFailed struct {
	Name string
	Err  error
}

// NameRefused says a name is not pulled because this device cannot store
// it, and why. It is tried again when its record, or that of a name it
// clashes with, changes, or after a scan when the file system refused it.
type NameRefused struct {
	Name   string
	Reason string
}

func (ScanDone) isEvent()        {}
func (UpgradeEvent) isEvent()    {}
func (ConflictEvent) isEvent()   {}
func (OpFailed) isEvent()        {}
func (NameRefused) isEvent()     {}
func (HeldEvent) isEvent()       {}
func (MassChangeEvent) isEvent() {}
