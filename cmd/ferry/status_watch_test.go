package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"ferry/web"
)

// pullingStatus is a status with one folder pulling files.
func pullingStatus() web.Status {
	return web.Status{
		Device: web.ThisDevice{ID: otherID(9), Name: "box"},
		Folders: []web.FolderStatus{{
			ID: "photos", Path: "/p", Type: "send-receive", State: "syncing",
			NeedFiles: 4, NeedBytes: 6 << 30, GlobalFiles: 5, GlobalBytes: 10 << 30, InRate: 100 << 20, ETA: 61,
			Pulling: []web.PullProgress{
				{Name: "disk.img", Size: 10 << 30, Done: 4 << 30},
				{Name: "bad\x1b[2Jname", Size: 100, Done: 100},
			},
			PullingFiles: 5,
		}},
	}
}

func TestStatusShowsFilesBeingPulled(t *testing.T) {
	var out bytes.Buffer
	printStatus(&out, pullingStatus(), time.Now())
	got := out.String()
	for _, want := range []string{
		" 40%", // the folder, in bytes
		"rate      100.0 MiB/s, about 1m01s left", // rate and ETA
		"pulling   disk.img   40% of 10.0 GiB",
		`pulling   "bad\x1b[2Jname"  100% of 100 B`, // a hostile name is quoted
		"... and 3 more being pulled",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("a file name put an escape code on the terminal:\n%q", got)
	}
}

// --watch --json prints one status document per line per interval.
func TestStatusWatchJSONLines(t *testing.T) {
	d := startFakeDaemon(t)
	d.backend.SetStatus(pullingStatus())
	key, err := web.ReadAPIKey(d.home)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	g := &globals{home: d.home, stdout: &out, stderr: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 450*time.Millisecond)
	defer cancel()
	if code := watchStatus(ctx, g, web.NewClient(d.addr, key), d.addr, 100*time.Millisecond, true); code != exitOK {
		t.Fatalf("watch exited %d", code)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("%d lines in 450 ms at 100 ms, want several:\n%s", len(lines), out.String())
	}
	for _, line := range lines {
		var st web.Status
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if len(st.Folders) != 1 || len(st.Folders[0].Pulling) != 2 || st.Folders[0].Pulling[0].Name != "disk.img" || st.Folders[0].PullingFiles != 5 {
			t.Fatalf("line %q lacks the pulls", line)
		}
	}
}

// The help documents every flag of status.
func TestStatusHelpNamesEveryFlag(t *testing.T) {
	out := ok(t, t.TempDir(), "status", "--help")
	for _, flag := range []string{"--json", "--watch", "--interval", "--every", "pulling", "pullingFiles"} {
		if !strings.Contains(out, flag) {
			t.Errorf("status --help does not mention %s:\n%s", flag, out)
		}
	}
}

// --interval sets how often --watch redraws, and a too short one is a
// usage error.
func TestStatusIntervalTooShort(t *testing.T) {
	d := startFakeDaemon(t)
	for _, flag := range []string{"--interval", "--every"} {
		r := ferry(t, d.home, "status", "--watch", flag, "10ms")
		if r.code != exitUsage || !strings.Contains(r.stderr, "too short") {
			t.Errorf("status --watch %s 10ms: exit %d, stderr %q; want a usage error", flag, r.code, r.stderr)
		}
	}
}
