package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"ferry/web"
)

func TestConflictsCommand(t *testing.T) {
	d := startFakeDaemon(t)
	if got := ok(t, d.home, "conflicts"); got != "no conflict copies\n" {
		t.Fatalf("conflicts with none: %q", got)
	}
	if got := ok(t, d.home, "conflicts", "--json"); strings.TrimSpace(got) != "[]" {
		t.Fatalf("conflicts --json with none: %q, want []", got)
	}
	at := time.Date(2026, 12, 4, 20, 1, 2, 0, time.UTC)
	cs := []web.Conflict{
		{Folder: "photos",
			Original: web.ConflictVersion{Name: "notes.txt", Exists: true, Device: otherID(1), DeviceName: "laptop", ModTime: at, Size: 2048, Version: "o1"},
			Copy:     web.ConflictVersion{Name: "notes.conflict-20261204-200000-ABCDEF0.txt", Exists: true, Device: "ABCDEF0", ModTime: at, Size: 7, Version: "c1"}},
		{Folder: "photos",
			Original: web.ConflictVersion{Name: "gone.txt"},
			Copy:     web.ConflictVersion{Name: "gone.conflict-20261204-200000-ABCDEF0.txt", Exists: true, Device: "ABCDEF0", ModTime: at, Size: 1, Version: "c2"}},
	}
	d.backend.SetConflicts(cs)
	var got []web.Conflict
	if err := json.Unmarshal([]byte(ok(t, d.home, "conflicts", "photos", "--json")), &got); err != nil || len(got) != 2 || got[0] != cs[0] {
		t.Fatalf("conflicts --json: %+v, %v", got, err)
	}
	text := ok(t, d.home, "conflicts")
	local := at.Local().Format("2006-01-02 15:04:05")
	for _, want := range []string{
		"FOLDER  VERSION  NAME",
		"photos  file     notes.txt                                   laptop (" + otherID(1)[:7] + ")  " + local + "  2.0 KiB",
		"photos  copy     notes.conflict-20261204-200000-ABCDEF0.txt  ABCDEF0",
		"photos  file     gone.txt                                    -                 (deleted)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("conflicts lacks %q:\n%s", want, text)
		}
	}
	fails(t, d.home, `folder "nope" does not exist`, "conflicts", "nope")
	if r := ferry(t, d.home, "conflicts", "a", "b"); r.code != exitUsage {
		t.Fatalf("conflicts a b: exit %d, want 2", r.code)
	}
	if r := ferry(t, d.home, "conflicts", "--what"); r.code != exitUsage {
		t.Fatalf("conflicts --what: exit %d, want 2", r.code)
	}
	help := ok(t, "", "help", "conflicts")
	for _, want := range []string{"ferry conflicts [FOLDER-ID] [--json]", "--json", "history"} {
		if !strings.Contains(help, want) {
			t.Errorf("help conflicts lacks %q:\n%s", want, help)
		}
	}
}

func TestConflictsNeedsADaemon(t *testing.T) {
	home := t.TempDir()
	ok(t, home, "id")
	fails(t, home, "no ferry daemon is running", "conflicts")
}
