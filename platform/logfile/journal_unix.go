//go:build unix

package logfile

import (
	"fmt"
	"os"
	"syscall"
)

// IsJournal tells whether f is the stream systemd connected to its journal:
// systemd sets JOURNAL_STREAM to that stream's "device:inode".
func IsJournal(f *os.File) bool {
	want := os.Getenv("JOURNAL_STREAM")
	if want == "" || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fmt.Sprintf("%d:%d", st.Dev, st.Ino) == want
}
