//go:build !linux

package platform

import "runtime"

// rulesGOOS returns the system whose name rules the folder's file system
// follows: this one.
func (f *Folder) rulesGOOS() string { return runtime.GOOS }
