package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopLimit is how long a daemon may take to exit after SIGINT or SIGTERM.
const stopLimit = 2 * time.Second

// signalStop sends sig to d's daemon and waits for it to exit, killing it
// after 15 s; it returns how long the exit took and the exit code.
func signalStop(t *testing.T, d *device, sig os.Signal) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: send %v: %v", d.name, sig, err)
	}
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	took := time.Since(start)
	code := d.cmd.ProcessState.ExitCode()
	d.cmd = nil
	return took, code
}

// checkStop stops d with sig and fails unless it exits with 0 in time.
func checkStop(t *testing.T, d *device, sig os.Signal, what string) {
	t.Helper()
	took, code := signalStop(t, d, sig)
	t.Logf("%s: %v %s: exit %d after %v", d.name, sig, what, code, took)
	if took > stopLimit || code != 0 {
		t.Fatalf("%s: %v %s: exit code %d after %v, want 0 within %v\nlog:\n%s",
			d.name, sig, what, code, took, stopLimit, tail(d.log.String(), 3000))
	}
}

// A daemon stops promptly and cleanly on SIGTERM and SIGINT, when idle and
// in the middle of receiving a large file; after the interrupted pull it
// resumes and no partial file ever shows at the file's name.
func TestSignalStopsWithinTwoSeconds(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	makeTree(t, a.folder, 200, 0)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	checkStop(t, a, syscall.SIGTERM, "while idle")
	a.start()
	waitFor(t, 20*time.Second, "A connected again", func() bool { return a.peer(b.id).Connected })
	checkStop(t, a, syscall.SIGINT, "while idle")

	const size = 512 << 20
	writeLarge(t, a.path("huge.bin"), 512, size)
	a.start()
	waitFor(t, 2*time.Minute, "a partial temp file on B", func() bool {
		matches, _ := filepath.Glob(filepath.Join(b.folder, ".ferry-tmp-*"))
		return len(matches) > 0
	})
	time.Sleep(300 * time.Millisecond)
	checkStop(t, b, syscall.SIGTERM, "while pulling a 512 MiB file")
	if fi, err := os.Stat(b.path("huge.bin")); err == nil && fi.Size() != size {
		t.Fatalf("partial file (%d bytes) visible at its name after the stop", fi.Size())
	}
	b.start()
	converge(t, 3*time.Minute, a, b)
	if sumFile(t, a.path("huge.bin")) != sumFile(t, b.path("huge.bin")) {
		t.Fatal("huge.bin differs on B after the restart")
	}
	if m, _ := filepath.Glob(filepath.Join(b.folder, ".ferry-tmp-*")); len(m) > 0 {
		t.Fatalf("temp files left on B: %v", m)
	}
}

// A second daemon for the same home is refused with a one-line message,
// and the first keeps serving its API and syncing.
func TestSecondServeRefused(t *testing.T) {
	a, b := startPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, ferryBin, "--home", a.home, "serve",
		"--listen", freePort(t), "--gui", freePort(t), "--no-lan", "--no-dht", "--no-portmap")
	var stdout, stderr lockedBuffer
	second.Stdout, second.Stderr = &stdout, &stderr
	start := time.Now()
	err := second.Run()
	took := time.Since(start)
	msg := strings.TrimSpace(stderr.String())
	t.Logf("second serve: %v after %v, stderr %q", err, took, msg)
	if ctx.Err() != nil || took > 5*time.Second {
		t.Fatalf("second serve still running after %v", took)
	}
	if second.ProcessState.ExitCode() != 1 {
		t.Fatalf("second serve: exit code %d, want 1", second.ProcessState.ExitCode())
	}
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "another ferry is already running with home") {
		t.Fatalf("second serve: stderr %q, want one line saying another ferry runs with this home", msg)
	}
	writeFile(t, a.path("after.txt"), []byte("still syncing"), 0o644)
	waitFor(t, 10*time.Second, "after.txt on B", func() bool {
		return sameContent(b.path("after.txt"), []byte("still syncing"))
	})
	if _, errOut, code := a.try("status", "--json"); code != 0 {
		t.Fatalf("the CLI no longer finds the first daemon after the refused start: exit %d: %s", code, errOut)
	}
}
