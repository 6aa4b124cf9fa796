// Command ferry keeps folders in sync across one person's devices, peer to
// peer.
//
//	ferry [--home DIR] COMMAND [ARGS]
//
// The home directory holds the device key, config.json and the API key: the
// --home flag, else $FERRY_HOME, else "ferry" in the user's config directory.
// `ferry serve` runs the daemon; the other commands are thin: they parse
// their arguments, call the running daemon's local API (package web) or, when
// no daemon runs, edit config.json directly, and print the result.
//
// Exit codes: 0 success, 1 failure (one line on stderr saying what failed,
// why, and what to do), 2 usage error (the command's usage on stderr).
package main
