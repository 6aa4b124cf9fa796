//go:build !windows

package service

// DetachConsole does nothing outside Windows, where a service gets no
// window of its own.
func DetachConsole() bool { return false }
