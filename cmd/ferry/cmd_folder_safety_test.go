package main

import (
	"os"
	"path/filepath"
	"testing"

	"ferry/engine/config"
)

func TestParseGuard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *config.DeleteGuard
		err  bool
	}{
		{in: "default"},
		{in: "off", want: &config.DeleteGuard{}},
		{in: "0", want: &config.DeleteGuard{}},
		{in: "100/40", want: &config.DeleteGuard{Files: 100, Percent: 40}},
		{in: "100/40%", want: &config.DeleteGuard{Files: 100, Percent: 40}},
		{in: "10/101", err: true},
		{in: "-1/5", err: true},
		{in: "lots", err: true},
		{in: "5", err: true},
	} {
		got, err := parseGuard(tc.in)
		if (err != nil) != tc.err || (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("parseGuard(%q) = %+v, %v; want %+v, error %t", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// Without a daemon, guard and resume edit the home directly.
func TestFolderSafetyWithoutDaemon(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	ok(t, home, "folder", "add", dir, "--id", "docs")
	marker := filepath.Join(dir, ".ferry")
	if fi, err := os.Stat(marker); err != nil || !fi.IsDir() {
		t.Fatalf("folder add made no marker: %v", err)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	ok(t, home, "folder", "guard", "docs", "7/9")
	cfg, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := cfg.Folder("docs"); f.Guard() != (config.DeleteGuard{Files: 7, Percent: 9}) {
		t.Errorf("guard saved as %+v", f.Guard())
	}
	fails(t, home, "no ferry daemon is running", "folder", "revert", "docs")
	fails(t, home, `folder "nope"`, "folder", "resume", "nope")
	ok(t, home, "folder", "resume", "docs")
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("folder resume made no marker: %v", err)
	}
}

// A folder that holds ferry's home, or lies in it, would sync the device's
// keys: it is refused.
func TestFolderAddRefusesTheHome(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	ok(t, home, "id")
	fails(t, home, "ferry's home", "folder", "add", base)
	fails(t, home, "ferry's home", "folder", "add", home)
	if err := os.Mkdir(filepath.Join(home, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	fails(t, home, "inside ferry's home", "folder", "add", filepath.Join(home, "sub"))
	if _, err := os.Stat(filepath.Join(base, ".ferry")); err == nil {
		t.Error("a refused folder got a marker")
	}
}
