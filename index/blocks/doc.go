// Package blocks is ferry's content-addressed block store: the blocks of
// the old versions of files, kept for the version history, each stored once
// however many files, folders and versions hold it.
//
// A block is addressed by the BLAKE3-256 hash of its data. Put checks every
// block against its hash before storing it, and Get checks it again on the
// way out: a block whose bytes on disk are not the block is reported as
// damaged (ErrDamaged), never returned.
//
// # Layout
//
//	DIR/blocks.db                  bbolt: where each block is
//	DIR/packs/<16 hex digits>.pack blocks, appended, many per file
//
// Directories are made 0700 and files 0600. A pack is a header and records
// one after the other:
//
//	pack header   "FRYPACK1", pack id (uint64)               16 bytes
//	record        "FBLK", data length (uint32), hash (32)    40 bytes
//	              data                                       length bytes
//
// Integers are big endian. A pack is closed once it holds Options.PackSize
// bytes (64 MiB by default) and the next block starts a new one, with an id
// higher than that of any pack present. Because every record names its block and
// length, a pack can be read and checked from start to end without the
// database, and the database rebuilt from the packs: Open does so when
// blocks.db is missing.
//
// The database holds:
//
//	info/schema        uint64 schema version
//	info/rebuild       present while a rebuild from the packs is under way
//	blocks/<hash>      location: pack id (uint64), record offset (uint64),
//	                   data length (uint32)
//	packs/<pack id>    committed length, blocks, data bytes (uint64 each)
//
// A pack's committed length is how much of the file committed transactions
// cover; its blocks and data bytes count the records locations refer to.
// The rest of the committed bytes is garbage: records of blocks dropped
// since, which GC reclaims.
//
// # Crash safety
//
// Put appends a batch's new records to the pack being written, syncs the
// pack (and the directory when a pack file was created), and only then
// commits one bbolt transaction with the batch's locations and the pack's
// new committed length. So every committed location refers to bytes that
// are on disk, and bytes past a pack's committed length belong to no
// committed location: a crash at any point leaves either the old state or
// the new one, plus garbage. Open cuts each pack back to its committed
// length and removes the pack files the database has no record of.
//
// Committed bytes are never changed in place. GC drops the locations of
// blocks that are not live, then empties sparse packs: it copies their live
// blocks into the pack being written, syncs it, and commits the moved
// locations; only once a transaction has recorded that a pack holds no
// block is its record deleted, and only after that commit is its file
// removed. A crash before the commit leaves the old locations, whose bytes
// are untouched; one after it leaves at worst a pack file without a record,
// which Open removes. Either way no live block is lost and no location
// points at missing or wrong bytes.
//
// # Concurrency and bounds
//
// Put, GC and Verify's dropping of damaged blocks run one at a time. Get,
// Has, Stats and Verify run alongside them, reading packs with ReadAt
// through a cache of at most Options.MaxOpenPacks open files; a pack file
// is removed only while no read is in flight. Blocks are at most
// MaxBlockSize (16 MiB) and a batch at most MaxBatch blocks; GC and Verify
// walk the database a few thousand blocks at a time, so their memory does
// not grow with the store.
package blocks
