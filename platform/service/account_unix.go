//go:build linux || darwin

package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
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
	if err := prepareHome(cfg.Home, cfg.User, uid, gid); err != nil {
		return err
	}
	if cfg.LogFile == "" {
		return nil
	}
	return prepareLog(cfg.LogFile, cfg.User, uid, gid)
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
	err := prepareDir(home, "home", 0o700, name, uid, gid)
	if errors.Is(err, errNotTheirs) {
		return fmt.Errorf("home %s is not a directory of user %s; make it theirs (`chown -R %s %s`) or choose another with --home", home, name, name, home)
	}
	return err
}

var errNotTheirs = errors.New("not theirs")

// prepareDir makes dir with perm for uid, or checks that it is theirs
// (errNotTheirs if not).
func prepareDir(dir, what string, perm fs.FileMode, name string, uid, gid int) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, perm); err != nil {
			return fmt.Errorf("create %s %s: %w", what, dir, err)
		}
		if err := os.Chmod(dir, perm); err != nil { // less the umask
			return fmt.Errorf("create %s %s: %w", what, dir, err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("give %s %s to %s: %w", what, dir, name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || !ok || int(st.Uid) != uid {
		return errNotTheirs
	}
	return nil
}

// prepareLog makes the directory of a system-wide service's log file
// (0750) and the file (0640) for uid, so that the service, which cannot
// create anything in /var/log, can write it, and the members of its group
// read it. Existing ones must be the user's.
func prepareLog(path, name string, uid, gid int) error {
	dir := filepath.Dir(path)
	if err := prepareDir(dir, "log directory", 0o750, name, uid, gid); errors.Is(err, errNotTheirs) {
		return fmt.Errorf("log directory %s is not a directory of user %s; make it theirs (`chown -R %s %s`)", dir, name, name, dir)
	} else if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		fi, err := os.Lstat(path)
		if err != nil {
			return fmt.Errorf("log file %s: %w", path, err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !fi.Mode().IsRegular() || !ok || int(st.Uid) != uid {
			return fmt.Errorf("log file %s is not a file of user %s; make it theirs (`chown %s %s`) or remove it", path, name, name, path)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create log file %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o640); err != nil {
		return fmt.Errorf("create log file %s: %w", path, err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("give log file %s to %s: %w", path, name, err)
	}
	return nil
}
