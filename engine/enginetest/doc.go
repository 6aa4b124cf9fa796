// Package enginetest runs folder engines in a deterministic simulation.
//
// A Sim holds N devices, each with an engine.Engine, a MemStore (the
// committed index) and a MemFS (the folder on disk), joined by a simulated
// network. The Sim is the driver of every engine: it commits Ready.Writes to
// the MemStore, queues Ready.Messages on connections, runs Ready.Ops against
// the MemFS and feeds their results back, exactly in the order the engine's
// contract asks for.
//
// Everything that could vary is drawn from one seeded random source: which
// pending event happens next (a message delivery, an operation, handling a
// device's Ready, a clock tick), so messages on different connections and
// the results of operations arrive delayed and reordered; and the faults:
// connections that drop, losing what was in flight, and come back; peers
// that claim in their Hello to have seen nothing, so that everything is sent
// to them again (duplicates); operations that fail; and devices that crash,
// losing their uncommitted writes and the operations in flight, and restart
// from the committed index. The clock is logical (100 ms a tick from
// 2026-01-01), so a run with the same seed replays exactly.
//
// Within one connection messages arrive in order, as over TCP; every fault
// of the network is a fault of a whole connection. Blocks are fetched from
// a peer's folder directly, over a live connection, and counted (see
// Sim.BlockBytes).
//
// The package is imported only by tests.
package enginetest
