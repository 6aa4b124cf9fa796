// Package config holds the daemon's persistent configuration: this device's
// name and addresses, the trusted devices and the folders with whom they are
// shared.
//
// The configuration lives in HOME/config.json, written atomically (a temporary
// file, fsync, rename) with mode 0600. Load returns the defaults when the file
// does not exist yet. Validate fills defaults and rejects what cannot work:
// duplicate or malformed IDs, relative or nested folder paths, folders shared
// with unknown devices, addresses that are not host:port.
//
// The mutators (AddDevice, RemoveDevice, AddFolder, ShareFolder) change a
// Config only when the result is valid, so a caller can apply a request, save,
// and hand an immutable Clone to whoever needs it. Their errors match
// ErrInvalid or ErrNotFound with errors.Is, so an API can tell bad input from
// a missing item.
package config
