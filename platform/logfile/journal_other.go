//go:build !unix

package logfile

import "os"

// IsJournal is false where there is no systemd journal.
func IsJournal(*os.File) bool { return false }
