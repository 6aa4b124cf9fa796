package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rsyncModule is the daemon module the benchmarks push into.
const rsyncModule = "bench"

// rsyncDaemon is an rsync daemon on loopback serving one writable module.
type rsyncDaemon struct {
	t      testing.TB
	url    string
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
}

// startRsyncDaemon serves dest as rsync://127.0.0.1:PORT/bench/.
func startRsyncDaemon(t testing.TB, dest string) *rsyncDaemon {
	t.Helper()
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Fatalf("rsync not installed (make bench-deps): %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "rsyncd.conf")
	body := fmt.Sprintf("use chroot = false\nuid = %d\ngid = %d\nlog file = %s\n[%s]\npath = %s\nread only = false\n",
		os.Getuid(), os.Getgid(), filepath.Join(dir, "rsyncd.log"), rsyncModule, dest)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	d := &rsyncDaemon{t: t, url: "rsync://" + addr + "/" + rsyncModule + "/", log: &lockedBuffer{}}
	d.cmd = exec.Command("rsync", "--daemon", "--no-detach", "--address", "127.0.0.1", "--port", port, "--config", conf)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.WaitDelay = 5 * time.Second
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start rsync daemon: %v", err)
	}
	d.exited = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(d.stop)
	waitFor(t, 10*time.Second, "rsync daemon listening", func() bool {
		select {
		case <-d.exited:
			t.Fatalf("rsync daemon exited at start: %s", d.log.String())
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return d
}

func (d *rsyncDaemon) stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}

// push runs rsync -a src/ to the module with extra flags and returns the
// bytes the client sent and received, from --stats.
func (d *rsyncDaemon) push(src string, extra ...string) (sent, received int64) {
	d.t.Helper()
	args := append([]string{"-a", "--stats"}, extra...)
	args = append(args, src+"/", d.url)
	out, err := exec.Command("rsync", args...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("rsync %s: %v\n%s\ndaemon log:\n%s", strings.Join(args, " "), err, out, d.log.String())
	}
	sent, err1 := statNumber(out, "Total bytes sent")
	received, err2 := statNumber(out, "Total bytes received")
	if err1 != nil || err2 != nil {
		d.t.Fatalf("rsync --stats: %v %v\n%s", err1, err2, out)
	}
	return sent, received
}

// statNumber finds "label: 1,234" in rsync's --stats output.
func statNumber(out []byte, label string) (int64, error) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `: ([0-9.,]+)`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no %q in rsync output", label)
	}
	n, err := strconv.ParseInt(strings.NewReplacer(",", "", ".", "").Replace(string(m[1])), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", m[1], err)
	}
	return n, nil
}
