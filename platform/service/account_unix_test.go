//go:build linux || darwin

package service

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestPrepareHome(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a directory to another user needs root")
	}
	const nobody = 65534
	home := filepath.Join(t.TempDir(), "var", "ferry")
	if err := prepareHome(home, "nobody", nobody, nobody); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(home)
	if err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != nobody {
		t.Fatalf("home %v, %v; want 0700 and owned by 65534", fi, err)
	}
	if err := prepareHome(home, "nobody", nobody, nobody); err != nil {
		t.Fatalf("prepareHome on its own home: %v", err)
	}
	// An existing directory of someone else is refused, never given away.
	theirs := t.TempDir()
	err = prepareHome(theirs, "nobody", nobody, nobody)
	if err == nil || !strings.Contains(err.Error(), "chown -R nobody") {
		t.Fatalf("prepareHome on root's directory = %v", err)
	}
	if fi, _ := os.Stat(theirs); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Error("an existing directory changed owner")
	}
}

func TestPrepareAccountRefuses(t *testing.T) {
	for _, c := range []struct{ user, want string }{
		{"ferry-no-such-user-x", "does not exist"},
		{"root", "is root"},
	} {
		err := prepareAccount(Config{User: c.user, Home: t.TempDir(), Mode: System})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("prepareAccount(%s) = %v, want %q", c.user, err, c.want)
		}
	}
	if got := useraddArgs("ferry", "/var/lib/ferry"); !slices.Equal(got, []string{"--system", "--user-group", "--home-dir", "/var/lib/ferry", "--no-create-home", "--shell", "/usr/sbin/nologin", "ferry"}) {
		t.Errorf("useradd %q", got)
	}
}

// TestPrepareLog: a system service's log directory and file are made for
// its user, 0750 and 0640, and someone else's are refused.
func TestPrepareLog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a directory to another user needs root")
	}
	const nobody = 65534
	old := syscall.Umask(0o077) // as the install runs under a strict umask
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "log", "ferry", "ferry.log")
	if err := prepareLog(path, "nobody", nobody, nobody); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{filepath.Dir(path): os.ModeDir | 0o750, path: 0o640} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode() != want || fi.Sys().(*syscall.Stat_t).Uid != nobody {
			t.Errorf("%s: %v, %v; want %v owned by 65534", p, fi.Mode(), err, want)
		}
	}
	if err := prepareLog(path, "nobody", nobody, nobody); err != nil {
		t.Fatalf("prepareLog again: %v", err)
	}
	root := filepath.Join(t.TempDir(), "ferry.log")
	os.WriteFile(root, nil, 0o600)
	if err := prepareLog(root, "nobody", nobody, nobody); err == nil || !strings.Contains(err.Error(), "is not a directory of user nobody") {
		t.Errorf("prepareLog in root's directory: %v", err)
	}
	os.Chown(filepath.Dir(root), nobody, nobody)
	if err := prepareLog(root, "nobody", nobody, nobody); err == nil || !strings.Contains(err.Error(), "chown nobody "+root) {
		t.Errorf("prepareLog of root's file: %v", err)
	}
}
