//go:build !unix

package index

// ReleaseMemory does nothing where the index's mapping cannot be advised.
func (db *DB) ReleaseMemory() error { return nil }
