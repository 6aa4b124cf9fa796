package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// lockFile is the name of the lock file in the home directory.
const lockFile = "lock"

// errLocked is what the lock helpers return when another holder has it.
var errLocked = errors.New("lock held")

// LockHome takes an exclusive lock on home/lock (creating home, 0700, and
// the file if missing) so that only one ferry runs per home directory. It
// does not wait: if the lock is held it fails, saying another ferry runs.
// unlock releases the lock; the lock also ends with the process.
func LockHome(home string) (unlock func() error, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("lock home: %w", err)
	}
	path := filepath.Join(home, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock home: %w", err)
	}
	if err := lockFileNB(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("another ferry is already running with home %s", home)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() error {
		err := unlockFile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}
