// Package index stores ferry's file records in a bbolt database.
//
// One database holds every folder. Per folder it keeps this device's records
// (the local index), the records each peer announced (remote indexes), how
// much of each peer's index is held, and a block map from BLAKE3 hash to a
// local file holding that block, so a puller can copy data it already has
// instead of fetching it.
//
// # Layout
//
//	info/schema                      uint64 schema version
//	folders/<folder id>/
//	    meta/index-id                uint64, random, non-zero; new for a new index
//	    meta/last-seq                int64, the highest local sequence number
//	    peers/<device id>            PeerMeta: index ID, sequence (uint64 each)
//	    local/<name>                 record
//	    seq/<sequence>               name of the local record with that sequence
//	    blocks/<hash><name>          offset (uint64) and size (uint32) of that
//	                                 block in that file; only the offset in an
//	                                 index written before sizes were kept
//	    remote/<device id>/<name>    record
//	    meta/summaries               present once every name has a summary
//	    summary/<name>               Summary: version byte (1), need, status
//	                                 flags, local and global bytes (varints)
//	    need/<need><name>            empty: the names that need work, by the
//	                                 kind of work, then name
//
// Integers in keys and fixed fields are big endian, so cursors walk sequence
// numbers in order and a block lookup is a Seek to the hash. The block map
// holds the blocks of live regular local files only; when a name's record is
// replaced, its old entries go with it.
//
// The engine writes a name's summary in the same transaction as the records
// it derives from, so the folder's status and the list of names to work on
// are read without a walk over the records. Schema version 1 had neither:
// opening it adds their buckets, and the engine fills them once.
//
// # Records
//
// A record is a FileInfo without its name (the key holds it): a format version
// byte (1), then type, flags, size, mtime, mode, sequence, modified-by,
// inode, symlink target, version vector and blocks, in varints except for
// device short IDs and hashes. A block's offset is stored as the difference
// from the end of the previous block, one byte for contiguous blocks. Decoding
// checks every length and count and returns an error on corrupt input.
//
// # Writes
//
// bbolt has a single writer and, with fsync, a commit costs tens of
// milliseconds: batch many records into one Folder.Update.
package index
