package platform

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// lockHelperEnv makes the test binary try LockHome on the named home and
// exit 0 if it got the lock, 3 if another holder has it.
const lockHelperEnv = "FERRY_TEST_LOCK_HOME"

func TestMain(m *testing.M) {
	if home := os.Getenv(lockHelperEnv); home != "" {
		unlock, err := LockHome(home)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		unlock()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLockHome(t *testing.T) {
	home := t.TempDir() + "/home"
	unlock, err := LockHome(home)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockHome(home)
	if err == nil || err.Error() != "another ferry is already running with home "+home {
		t.Errorf("second lock = %v", err)
	}
	if code, out := lockFromChild(t, home); code != 3 || !strings.Contains(out, "already running") {
		t.Errorf("child while locked: exit %d, %q", code, out)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if code, out := lockFromChild(t, home); code != 0 {
		t.Errorf("child after unlock: exit %d, %q", code, out)
	}
	unlock, err = LockHome(home)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock()
}

// lockFromChild runs the test binary as a lock helper and returns its exit
// code and output.
func lockFromChild(t *testing.T, home string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+home)
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}
