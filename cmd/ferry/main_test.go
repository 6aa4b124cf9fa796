package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"ferry/engine/config"
	"ferry/proto"
	"ferry/proto/pair"
)

// result is what one command run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// ferry runs the command line in-process with --home home.
func ferry(t *testing.T, home string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"--home", home}, args...), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// ok runs a command that must succeed and returns its stdout.
func ok(t *testing.T, home string, args ...string) string {
	t.Helper()
	r := ferry(t, home, args...)
	if r.code != exitOK {
		t.Fatalf("ferry %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must exit 1 with a one-line message containing
// want.
func fails(t *testing.T, home, want string, args ...string) {
	t.Helper()
	r := ferry(t, home, args...)
	if r.code != exitError || !strings.HasPrefix(r.stderr, "ferry: ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("ferry %s: exit %d, stderr %q; want exit 1 and one line containing %q", strings.Join(args, " "), r.code, r.stderr, want)
	}
}

// otherID returns a valid device ID that is not this device's.
func otherID(n byte) string { return proto.DeviceID{n, 1, 2, 3}.String() }

func TestIDIsStable(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	first := strings.TrimSpace(ok(t, home, "id"))
	if _, err := proto.ParseDeviceID(first); err != nil {
		t.Fatalf("id printed %q: %v", first, err)
	}
	if second := strings.TrimSpace(ok(t, home, "id")); second != first {
		t.Fatalf("id changed: %q then %q", first, second)
	}
	if other := strings.TrimSpace(ok(t, t.TempDir(), "id")); other == first {
		t.Fatal("two homes have the same ID")
	}
}

func TestDeviceAddRejectsBadIDs(t *testing.T) {
	home := t.TempDir()
	id := otherID(1)
	c := byte('A')
	if id[3] == c {
		c = 'B'
	}
	typo := id[:3] + string(c) + id[4:]
	_, parseErr := proto.ParseDeviceID(typo)
	if parseErr == nil {
		t.Fatal("the test's typo still parses")
	}
	fails(t, home, parseErr.Error(), "device", "add", typo)
	fails(t, home, "invalid device ID", "device", "add", "hello")
	self := strings.TrimSpace(ok(t, home, "id"))
	fails(t, home, "own ID", "device", "add", self)
	fails(t, home, "want host:port", "device", "add", id, "--addr", "nohost")
	if cfg, _ := config.Load(home); len(cfg.Devices) != 0 {
		t.Fatalf("rejected devices were saved: %+v", cfg.Devices)
	}
}

func TestDeviceAddListRemove(t *testing.T) {
	home := t.TempDir()
	a, b := otherID(1), otherID(2)
	ok(t, home, "device", "add", strings.ToLower(a), "--name", "laptop", "--addr", "10.0.0.2:22110", "--addr", "laptop.lan:22110")
	ok(t, home, "device", "add", "--name", "nas", b)
	fails(t, home, "device "+a+" already added", "device", "add", a)

	list := ok(t, home, "device", "list")
	want := regexp.MustCompile(`(?m)^` + a + ` +laptop +10\.0\.0\.2:22110,laptop\.lan:22110\n` + b + ` +nas +-\n$`)
	if !want.MatchString(list) {
		t.Fatalf("device list:\n%s", list)
	}
	ok(t, home, "device", "remove", a)
	fails(t, home, "not a known device", "device", "remove", a)
	if list := ok(t, home, "device", "list"); strings.Contains(list, a) || !strings.Contains(list, b) {
		t.Fatalf("device list after remove:\n%s", list)
	}
	ok(t, home, "device", "remove", b)
	if r := ferry(t, home, "device", "list"); r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "no devices") {
		t.Fatalf("empty device list: %+v", r)
	}
}

func TestFolderAddShareList(t *testing.T) {
	home, root := t.TempDir(), t.TempDir()
	docs := filepath.Join(root, "My Docs")
	backup := filepath.Join(root, "backup")
	for _, d := range []string{docs, backup} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if id := ok(t, home, "folder", "add", docs); id != "my-docs\n" {
		t.Fatalf("folder add printed %q", id)
	}
	if id := ok(t, home, "folder", "add", "--type", "receive-only", backup, "--id", "bk"); id != "bk\n" {
		t.Fatalf("folder add --id printed %q", id)
	}
	fails(t, home, "does not exist", "folder", "add", filepath.Join(root, "missing"))
	file := filepath.Join(root, "file.txt")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, home, "is not a directory", "folder", "add", file)
	fails(t, home, "overlap", "folder", "add", filepath.Join(docs))
	fails(t, home, `folder "bk" already exists`, "folder", "add", t.TempDir(), "--id", "bk")

	dev := otherID(3)
	fails(t, home, "not a known device", "folder", "share", "bk", dev)
	ok(t, home, "device", "add", dev, "--name", "nas")
	fails(t, home, `folder "nope" does not exist`, "folder", "share", "nope", dev)
	ok(t, home, "folder", "share", "bk", dev)
	ok(t, home, "folder", "share", "bk", dev)
	ok(t, home, "folder", "set", "bk", "--keep", "forever")

	list := ok(t, home, "folder", "list")
	for _, line := range []string{
		`my-docs +send-receive +` + regexp.QuoteMeta(docs) + ` +- +keep 24h:all,30d:daily,52w:weekly`,
		`bk +receive-only +` + regexp.QuoteMeta(backup) + ` +` + dev[:7] + `\(nas\) +keep forever`,
	} {
		if !regexp.MustCompile(`(?m)^` + line + `$`).MatchString(list) {
			t.Errorf("folder list lacks %q:\n%s", line, list)
		}
	}
	cfg, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := cfg.Folder("bk"); f.Type != config.ReceiveOnly || len(f.Devices) != 1 || f.Devices[0].String() != dev {
		t.Fatalf("saved folder = %+v", f)
	}
	// Removing the device unshares the folder.
	ok(t, home, "device", "remove", dev)
	if cfg, _ := config.Load(home); len(cfg.Folders[1].Devices) != 0 {
		t.Fatalf("folder still shared after device remove: %+v", cfg.Folders[1])
	}
}

func TestUsageErrors(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		args []string
		code int
		out  string // substring of stdout (exit 0) or stderr (exit 2)
	}{
		{nil, exitUsage, "usage: ferry [--home DIR] COMMAND"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"pair", "1-a-b-c", "extra"}, exitUsage, "usage: ferry pair"},
		{[]string{"pair", "--addr", "h:1"}, exitUsage, "--addr and --into go with a CODE"},
		{[]string{"pair", "1-a-b-c", "--folder", "docs"}, exitUsage, "want ID=PATH when joining"},
		{[]string{"--nohome", "id"}, exitUsage, "flag provided but not defined"},
		{[]string{"device"}, exitUsage, "ferry device add ID"},
		{[]string{"device", "frob"}, exitUsage, `unknown command "frob"`},
		{[]string{"device", "add"}, exitUsage, "usage: ferry device add ID [--name NAME] [--addr HOST:PORT]..."},
		{[]string{"device", "add", "a", "b"}, exitUsage, `unexpected argument "b"`},
		{[]string{"device", "add", "x", "--addr"}, exitUsage, "flag needs an argument"},
		{[]string{"folder", "share", "x"}, exitUsage, "missing arguments"},
		{[]string{"folder", "add", ".", "--type", "mirror"}, exitUsage, "unknown; use send-receive"},
		{[]string{"id", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"status", "--bogus"}, exitUsage, "usage: ferry status [--json]"},
		{[]string{"scan"}, exitUsage, "usage: ferry scan FOLDER-ID [PATH]"},
		{[]string{"help", "nope"}, exitUsage, `unknown command "nope"`},
		{[]string{"help"}, exitOK, "ferry [--home DIR] COMMAND"},
		{[]string{"--help"}, exitOK, "commands:"},
		{[]string{"help", "device"}, exitOK, "ferry device remove ID"},
		{[]string{"help", "status"}, exitOK, "--json"},
		{[]string{"device", "add", "--help"}, exitOK, "--addr HOST:PORT"},
		{[]string{"folder", "help"}, exitOK, "ferry folder share FOLDER-ID DEVICE-ID"},
		{[]string{"version"}, exitOK, "ferry "},
	}
	for _, tt := range tests {
		r := ferry(t, home, tt.args...)
		got := r.stderr
		if tt.code == exitOK {
			got = r.stdout
		}
		if r.code != tt.code || !strings.Contains(got, tt.out) {
			t.Errorf("ferry %q: exit %d\nstdout: %s\nstderr: %s\nwant exit %d with %q", tt.args, r.code, r.stdout, r.stderr, tt.code, tt.out)
		}
	}
}

func TestNoDaemon(t *testing.T) {
	home := t.TempDir()
	ok(t, home, "folder", "add", t.TempDir(), "--id", "docs")
	want := "no ferry daemon is running for home " + home + "; start it with `ferry --home " + home + " serve`"
	fails(t, home, want, "status")
	fails(t, home, want, "status", "--json")
	fails(t, home, want, "scan", "docs")

	// A key left by an earlier daemon, and nothing listening.
	cfg, _ := config.Load(home)
	cfg.GUI = closedPort(t)
	if err := config.Save(home, cfg); err != nil {
		t.Fatal(err)
	}
	writeKey(t, home)
	fails(t, home, want, "status")
	ok(t, home, "device", "add", otherID(4))
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args []string
		pos  string
		name string
		n    int
	}{
		{[]string{"a", "--name", "x", "b"}, "a b", "x", 0},
		{[]string{"--name=x", "a", "-n", "2"}, "a", "x", 2},
		{[]string{"a", "--", "--name", "b"}, "a --name b", "", 0},
		{[]string{"-", "b"}, "- b", "", 0},
		{nil, "", "", 0},
	}
	for _, tt := range tests {
		fs := newFlagSet("t")
		name := fs.String("name", "", "")
		n := fs.Int("n", 0, "")
		pos, err := parseInterleaved(fs, tt.args)
		if err != nil || strings.Join(pos, " ") != tt.pos || *name != tt.name || *n != tt.n {
			t.Errorf("parse %q = %q name=%q n=%d err=%v", tt.args, pos, *name, *n, err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 30: "5.0 GiB", 1 << 62: "4.0 EiB"}
	for n, want := range tests {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := map[string]string{"/home/u/.config/ferry": "/home/u/.config/ferry", "/tmp/my home": "'/tmp/my home'", "it's": `'it'\''s'`}
	for in, want := range tests {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// The code shown in README.md must be one ferry accepts.
func TestReadmePairingCodeParses(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	codes := regexp.MustCompile(`ferry pair (\d+-[a-z]+-[a-z]+-[a-z]+)`).FindAllStringSubmatch(string(data), -1)
	if len(codes) == 0 {
		t.Fatal("README shows no pairing code")
	}
	for _, m := range codes {
		if _, err := pair.ParseCode(m[1]); err != nil {
			t.Errorf("README's code %s: %v", m[1], err)
		}
	}
}
