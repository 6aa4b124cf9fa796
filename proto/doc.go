// Package proto is ferry's vocabulary and wire protocol.
//
// It holds the domain types every other package speaks (DeviceID, FileInfo,
// Block, Vector), the protobuf wire messages and their conversion, and the
// framing that carries messages over an encrypted connection.
//
// # Connection
//
// A connection is TCP, then a Noise_XX_25519_AESGCM_SHA256 handshake (see
// package proto/noise); both sides learn the other's static key, which is the
// device ID. Everything after the handshake is a stream of records:
//
//	uint32 length (big endian, of what follows) | uint8 type | payload
//
// The payload is a protobuf message, except for block responses, which carry
// a small protobuf header followed by the raw block bytes so that block data
// never passes through generic protobuf decoding. Every message type has a
// size limit; a record over it ends the connection.
//
// # Conversation
//
// Both sides send Hello first: device name, version and, per shared folder,
// the index ID and sequence each has already seen of the other's index. Each
// side then sends IndexUpdate messages with its own file records whose
// sequence is greater than the peer has seen (all of them when the index ID
// changed), and further IndexUpdates as it scans changes. Requests ask for one
// block by folder, name, offset, size and hash; many may be in flight at once
// and each has an ID that its Response echoes. Ping keeps an idle connection
// alive; Close says why a side hangs up.
//
// # History
//
// A device keeps old versions of files (its history). A HistoryRequest asks
// a peer which versions of one file it keeps; the HistoryResponse lists at
// most MaxHistoryVersions, newest first, each a whole file record with when
// it was replaced there, why, and by which device. A HistoryRequest without
// a name asks instead what each file of the folder was at a moment: a kept
// version, or the current record (ID 0) when the file has not changed
// since; the answer comes a page at a time, by name, and More says another
// page follows (the next request names the last file in After). A Request
// with History set asks for a block of those versions by its hash, not from
// the peer's current file. Only peers a folder is shared with are answered.
//
// # Relay
//
// Two devices that cannot reach each other connect through a third, R,
// that both trust and are connected to. Relay messages on A's connection
// to R and on R's to B carry a stream; the stream carries an ordinary
// connection between A and B, Noise handshake included, so R forwards
// only ciphertext and never holds a session of theirs:
//
//	A -> R  Relay{open, stream s, peer B}    "reach B for me"
//	R -> B  Relay{arrive, stream t, peer A}  "A reaches you through me"
//	A <-> R <-> B  Relay{data} and Relay{ack}, s on A's side, t on B's
//	either  Relay{close, reason}             forwarded to the other end
//
// A stream is numbered on one connection by the side that opens it: odd by
// the side that dialled the connection, even by the other. A refusal is a
// close of the stream. Each direction of a stream has a window of 512 KiB:
// a sender sends data only within the credit the receiver's acks gave
// (each ack adds the bytes it consumed), and both the receiver and R end a
// stream that sends beyond it, so R holds at most two windows per stream.
// B checks in the handshake that the other end's key is A's. A relayed
// connection relays nothing further.
package proto
