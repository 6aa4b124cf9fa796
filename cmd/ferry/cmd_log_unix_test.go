//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLogOutput: with a log file the daemon logs there; stderr gets the
// lines too only when it is a terminal or the journal.
func TestLogOutput(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	g := &globals{stderr: &buf}
	w, closeLog, err := g.logOutput(filepath.Join(dir, "a.log"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "to the file")
	closeLog()
	if data, _ := os.ReadFile(filepath.Join(dir, "a.log")); string(data) != "to the file\n" || buf.Len() != 0 {
		t.Fatalf("file %q, stderr %q", data, buf.String())
	}

	journal, err := os.Create(filepath.Join(dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	fi, _ := journal.Stat()
	st := fi.Sys().(*syscall.Stat_t)
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	g = &globals{stderr: journal}
	w, closeLog, err = g.logOutput(filepath.Join(dir, "b.log"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "to both")
	closeLog()
	data, _ := os.ReadFile(filepath.Join(dir, "b.log"))
	inJournal, _ := os.ReadFile(journal.Name())
	if string(data) != "to both\n" || string(inJournal) != "to both\n" {
		t.Fatalf("file %q, journal %q", data, inJournal)
	}
	if w, _, err := g.logOutput(dir); err == nil || w != nil {
		t.Fatal("a directory as the log file was accepted")
	}
}
