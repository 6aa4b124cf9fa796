// Package engine decides what a folder on this device must do; it does no I/O.
//
// An Engine holds one folder's view of the world: the local file records, the
// records each peer announced, the connected peers and the work in flight. It
// is driven like etcd's raft.RawNode: the driver feeds inputs through Step
// (ticks of an injected clock, peers coming and going, received index
// updates, scan and hash results, finished file operations), then takes the
// accumulated work from Ready, carries it out in order and calls Advance:
//
//  1. commit Ready.Writes to the index in one transaction;
//  2. send Ready.Messages;
//  3. start Ready.Ops (scans, hashing, file pulls, deletes), feeding each
//     result back through Step.
//
// The engine never blocks, never reads a file and never looks at the wall
// clock, so a simulator can run many engines deterministically.
//
// # Global state and conflicts
//
// For every name the global record is the one with the greatest version
// vector among the local record and those of the peers the folder is shared
// with. Concurrent versions that nothing supersedes are ordered by a rule
// every device applies the same way: a live file beats a deletion, a
// directory beats a file or symlink, then the later modification time wins,
// then the larger device ID. A device whose
// local version loses keeps it beside the winner as
// "name.conflict-YYYYMMDD-HHMMSS-<device>.ext", with the loser's version
// vector plus a counter of the copy's own drawn from both, so every device
// that makes the same copy makes an identical one
// (and makes none when it already holds that copy; should the name hold
// something else, "-2", "-3", ... is added before the extension).
package engine
