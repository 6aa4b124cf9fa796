//go:build !linux

package platform

import "errors"

// SyncAll is not available here: callers fsync each file instead.
func (f *Folder) SyncAll() error { return errors.ErrUnsupported }
