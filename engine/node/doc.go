// Package node is the ferry daemon: it drives one engine per folder and does
// all the I/O the engines ask for.
//
// A Node owns the configuration, the identity, the index database, one
// folder runner per folder and the connection manager. A folder runner is a
// goroutine that steps its engine with inputs from an unbounded inbox (so a
// connection reader never blocks on a busy folder), commits the engine's
// index writes in one transaction, sends its messages and hands its file
// operations to workers (walkers, hashers, pullers), whose results return
// through the inbox.
//
// The connection manager listens and dials, runs the Noise handshake,
// refuses devices that are not trusted (remembering them as pending), keeps
// one connection per device (when both sides dial at once, both keep the one
// dialled by the smaller device ID), exchanges Hellos and then reads
// messages: index updates go to folder runners, block requests to the block
// server, responses to the pullers waiting for them.
package node
