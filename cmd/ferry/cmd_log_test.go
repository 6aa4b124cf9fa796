package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/platform/logfile"
)

func TestTailStart(t *testing.T) {
	cases := []struct {
		text string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc\n", 3, "a\nb\nc\n"},
		{"a\nb\nc\n", 9, "a\nb\nc\n"},
		{"a\nb\nc", 1, "c"}, // a last line without its newline
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\n", 0, ""},
		{"", 5, ""},
		{"\n\n\n", 2, "\n\n"},
	}
	for _, c := range cases {
		r := strings.NewReader(c.text)
		start, err := tailStart(r, int64(len(c.text)), c.n)
		if err != nil || c.text[start:] != c.want {
			t.Errorf("last %d of %q: %q, %v; want %q", c.n, c.text, c.text[start:], err, c.want)
		}
	}
	// Lines across the 64 KiB blocks it reads backwards.
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "line %05d\n", i)
	}
	text := b.String()
	start, err := tailStart(strings.NewReader(text), int64(len(text)), 12345)
	if err != nil || !strings.HasPrefix(text[start:], "line 07655\n") || strings.Count(text[start:], "\n") != 12345 {
		t.Fatalf("last 12345 lines start %q, %v", text[start:start+11], err)
	}
}

func writeLog(t *testing.T, lines int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ferry.log")
	var b strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&b, "time=2026-01-01T00:00:00Z level=INFO msg=\"line %d\"\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLogCommand(t *testing.T) {
	path := writeLog(t, 80)
	home := t.TempDir()
	out := ok(t, home, "log", "--file", path)
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); len(lines) != 50 || lines[0] != `time=2026-01-01T00:00:00Z level=INFO msg="line 31"` || lines[49] != `time=2026-01-01T00:00:00Z level=INFO msg="line 80"` {
		t.Fatalf("ferry log printed %d lines, %q … %q", len(lines), lines[0], lines[len(lines)-1])
	}
	if out := ok(t, home, "log", "-n", "2", "--file", path); out != "time=2026-01-01T00:00:00Z level=INFO msg=\"line 79\"\ntime=2026-01-01T00:00:00Z level=INFO msg=\"line 80\"\n" {
		t.Fatalf("ferry log -n 2: %q", out)
	}
	fails(t, home, "no such file or directory", "log", "--file", filepath.Join(home, "none.log"))
	r := ferry(t, home, "log", "-n", "-1", "--file", path)
	if r.code != exitUsage || !strings.Contains(r.stderr, "bad -n -1") {
		t.Fatalf("-n -1: exit %d, %q", r.code, r.stderr)
	}
	help := ok(t, home, "help", "log")
	for _, f := range []string{"-f ", "-n N", "--system", "--file PATH", "(default 50)", "across rotations"} {
		if !strings.Contains(help, f) {
			t.Errorf("help log lacks %q:\n%s", f, help)
		}
	}
}

func TestLogHint(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", "")
	fails(t, home, home+"/.local/state/ferry/ferry.log: no such file or directory. Has the service run? Install it with `ferry install`", "log")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q after 10s in %q", want, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFollowLog follows a log that the daemon's own writer appends to and
// rotates: every line comes out once, in order, across the rotation.
func TestFollowLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.log")
	lf, err := logfile.Open(path, logfile.Options{MaxMiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	fmt.Fprintf(lf, "old line\n")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out syncBuffer
	if err := tailLines(f, 50, &out); err != nil || out.String() != "old line\n" {
		t.Fatalf("tail %q, %v", out.String(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- followLog(ctx, f, path, &out, 10*time.Millisecond) }()

	fmt.Fprintf(lf, "appended line\n")
	waitOutput(t, &out, "old line\nappended line\n")
	// Fill the file to just below its cap, then one more line rotates it.
	filler := strings.Repeat("f", 1000) + "\n"
	var want strings.Builder
	want.WriteString("old line\nappended line\n")
	for size := int64(len("old line\nappended line\n")); size+int64(len(filler)) <= 1<<20; size += int64(len(filler)) {
		lf.Write([]byte(filler))
		want.WriteString(filler)
	}
	before, _ := os.Stat(path)
	// Longer than what is left below the cap.
	last := "after the rotation " + filler
	fmt.Fprint(lf, last)
	want.WriteString(last)
	if now, _ := os.Stat(path); os.SameFile(before, now) {
		t.Fatal("the log did not rotate")
	}
	waitOutput(t, &out, last)
	fmt.Fprintf(lf, "and one more\n")
	want.WriteString("and one more\n")
	waitOutput(t, &out, "and one more\n")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow still runs 10s after its context ended")
	}
	if out.String() != want.String() {
		t.Fatalf("followed %d bytes, want %d: lines lost or repeated", len(out.String()), want.Len())
	}
}
