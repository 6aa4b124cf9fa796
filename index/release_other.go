//go:build !unix

package index

// ReleaseMemory does nothing where the index's mapping cannot be advised.
func (db *DB) ReleaseMemory() error { return nil }

// ReleaseMemory does nothing where the index's mapping cannot be advised.
func (f *Folder) ReleaseMemory() error { return nil }
