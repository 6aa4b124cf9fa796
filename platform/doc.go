// Package platform is ferry's contact with the operating system: folder I/O,
// the device key, the home directory, its lock and atomic config writes.
//
// # Folder I/O
//
// Every read and write inside a synced folder goes through a [Folder], which
// holds an [os.Root] on the folder's directory. A name is relative and
// slash separated; it is validated before any system call, and os.Root
// guarantees that neither a hostile name nor a symlink in the tree reaches
// outside the folder. Symlinks are synced as links and never followed: a
// method refuses a name whose parent path crosses a symlink, and operations
// on the last component act on the link itself. (A symlink swapped in
// concurrently, between that check and the operation, can at worst redirect
// the operation to another place inside the folder.)
//
// Names whose path component starts with ".ferry" belong to ferry itself: the
// marker directory ".ferry/" and temp files ".ferry-tmp-*". Walk never
// reports them and the mutating methods refuse them as targets.
//
// Replacing a file is a compare-and-swap: the caller says what it expects at
// the name (an [Expect], usually taken from the index) and a method that
// would replace or remove something first checks that the disk still shows
// exactly that, returning [ErrChanged] otherwise. New content is written to a
// temp file beside the target, fsynced and renamed over it, so a reader never
// sees a half-written file; temp files survive a crash and are reused.
//
// # Home directory
//
// The home directory (see [DefaultHome]) holds:
//
//	key    this device's X25519 private key: base64 (standard, padded) of the
//	       32 key bytes and a newline, mode 0600 (see [LoadOrCreateKey])
//	lock   held with an exclusive lock while a daemon runs (see [LockHome])
//
// and config files written with [WriteFileAtomic].
package platform
