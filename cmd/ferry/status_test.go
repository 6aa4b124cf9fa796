package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"ferry/web"
)

func TestStatusWatchRedraws(t *testing.T) {
	d := startFakeDaemon(t)
	key, err := web.ReadAPIKey(d.home)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	g := &globals{home: d.home, stdout: &out, stderr: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 550*time.Millisecond)
	defer cancel()
	if code := watchStatus(ctx, g, web.NewClient(d.addr, key), d.addr, 100*time.Millisecond, false); code != exitOK {
		t.Fatalf("watch exited %d", code)
	}
	views := strings.Count(out.String(), "This device ")
	if views < 3 {
		t.Fatalf("%d views in 550 ms at 100 ms, want several:\n%s", views, out.String())
	}
	if strings.Contains(out.String(), clearScreen) {
		t.Fatal("cleared the screen of something that is not a terminal")
	}
	calls := 0
	for _, c := range d.backend.Calls() {
		if c == "Status" {
			calls++
		}
	}
	if calls != views {
		t.Fatalf("%d views from %d status calls", views, calls)
	}
}

func TestProgressFormatting(t *testing.T) {
	for _, tc := range []struct {
		f       web.FolderStatus
		bar     string
		percent string
	}{
		{web.FolderStatus{GlobalBytes: 100, NeedBytes: 100}, "[----------]", "  0%"},
		{web.FolderStatus{GlobalBytes: 100, NeedBytes: 50}, "[#####-----]", " 50%"},
		{web.FolderStatus{GlobalBytes: 1000, NeedBytes: 1}, "[#########-]", " 99%"}, // never 100 % before the end
		{web.FolderStatus{GlobalBytes: 100}, "[##########]", "100%"},
		{web.FolderStatus{GlobalFiles: 4, NeedFiles: 1}, "[#######---]", " 75%"},   // empty files only: count files
		{web.FolderStatus{GlobalBytes: 10, NeedBytes: 20}, "[----------]", "  0%"}, // more needed than exists (a race): clamp
	} {
		if got := progressBar(tc.f, 10); got != tc.bar {
			t.Errorf("%+v: bar %q, want %q", tc.f, got, tc.bar)
		}
		if got := percent(tc.f); got != tc.percent {
			t.Errorf("%+v: percent %q, want %q", tc.f, got, tc.percent)
		}
	}
	for sec, want := range map[float64]string{0.4: "0s", 45: "45s", 200: "3m20s", 7500: "2h05m"} {
		if got := formatETA(sec); got != want {
			t.Errorf("formatETA(%v) = %q, want %q", sec, got, want)
		}
	}
}
