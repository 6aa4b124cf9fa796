//go:build linux || darwin

package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"syscall"
)

// prepareAccount makes the account a system-wide service runs as ready:
// SystemUser is created on Linux when missing (a system account without a
// login shell), any other user must exist, and the home directory is made
// (0700) for that user or must already be theirs.
func prepareAccount(cfg Config) error {
	u, err := user.Lookup(cfg.User)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) && cfg.User == SystemUser && runtime.GOOS == "linux" {
		if err = createSystemUser(cfg.User, cfg.Home); err == nil {
			u, err = user.Lookup(cfg.User)
		}
	}
	if errors.As(err, &unknown) {
		return fmt.Errorf("user %q does not exist; create it first, or pass --user with an existing one", cfg.User)
	}
	if err != nil {
		return fmt.Errorf("look up user %q: %w", cfg.User, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("user %q has uid %q, gid %q", cfg.User, u.Uid, u.Gid)
	}
	if uid == 0 {
		return fmt.Errorf("user %q is root; the system-wide service runs as a user of its own", cfg.User)
	}
	return prepareHome(cfg.Home, cfg.User, uid, gid)
}

// useraddArgs are the arguments that create name as a system account whose
// home is home, without creating the home (prepareHome does) and without a
// login shell.
func useraddArgs(name, home string) []string {
	return []string{"--system", "--user-group", "--home-dir", home, "--no-create-home", "--shell", "/usr/sbin/nologin", name}
}

func createSystemUser(name, home string) error {
	out, err := exec.Command("useradd", useraddArgs(name, home)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("create user %s: %w: %s", name, err, out)
	}
	return nil
}

// prepareHome makes home for uid, or checks that it is theirs. It never
// changes the owner of an existing directory: that could hand any
// directory named by mistake to the service's user.
func prepareHome(home, name string, uid, gid int) error {
	fi, err := os.Stat(home)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(home, 0o700); err != nil {
			return fmt.Errorf("create home %s: %w", home, err)
		}
		if err := os.Chown(home, uid, gid); err != nil {
			return fmt.Errorf("give home %s to %s: %w", home, name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("home %s: %w", home, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != uid {
		return fmt.Errorf("home %s is not a directory of user %s; make it theirs (`chown -R %s %s`) or choose another with --home", home, name, name, home)
	}
	return nil
}
