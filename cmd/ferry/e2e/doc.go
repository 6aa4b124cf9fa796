// Package e2e holds end-to-end tests and benchmarks that build the ferry
// binary and drive real daemons over loopback TCP with real files on disk.
package e2e
