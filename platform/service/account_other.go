//go:build !linux && !darwin

package service

// prepareAccount has nothing to do where system services run as the
// service manager's own account.
func prepareAccount(Config) error { return nil }
