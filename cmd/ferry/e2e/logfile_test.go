package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeLogFile runs a real daemon with --log-file, as the service does:
// its startup lines, the web UI's address and its stop go to the file
// (private to its user, in a directory made for it), not to a stderr that is
// neither a terminal nor the journal, and `ferry log` prints them.
func TestServeLogFile(t *testing.T) {
	d := newDevice(t, "A")
	logPath := filepath.Join(t.TempDir(), "state", "ferry", "ferry.log")
	d.serve = []string{"--log-file", logPath}
	d.start()
	d.ferry("scan", "docs")
	checkStop(t, d, syscall.SIGTERM, "logging to a file")

	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		`msg="ferry starting" home=` + d.home,
		`msg=listening addr=` + d.listen,
		`msg="ferry is running" gui=http://` + d.gui + "/",
		`msg="ferry stopped"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("log file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(d.log.String(), "level=INFO") {
		t.Errorf("the daemon logged to stderr too, which is not a terminal:\n%s", tail(d.log.String(), 2000))
	}
	for p, want := range map[string]os.FileMode{logPath: 0o600, filepath.Dir(logPath): os.ModeDir | 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v; want %v", p, fi.Mode(), err, want)
		}
	}
	out := d.ferry("log", "-n", "1000", "--file", logPath)
	if out != text {
		t.Errorf("ferry log printed %q, want the file as is", out)
	}

	// Started again, it appends to the same file; a second daemon on the
	// same home is refused, and says why in its own log file.
	d.start()
	second := filepath.Join(t.TempDir(), "second.log")
	_, _, code := d.try("serve", "--listen", freePort(t), "--gui", freePort(t), "--no-lan", "--no-dht", "--no-portmap", "--log-file", second)
	refusal, _ := os.ReadFile(second)
	if code != 1 || !strings.Contains(string(refusal), `level=ERROR msg="ferry stopped" err=`) {
		t.Errorf("second daemon: exit %d, log %q; want exit 1 and its error in the log", code, refusal)
	}
	checkStop(t, d, syscall.SIGTERM, "logging to a file again")
	data, _ = os.ReadFile(logPath)
	if !strings.HasPrefix(string(data), text) || strings.Count(string(data), `msg="ferry starting"`) != 2 {
		t.Errorf("second run did not append:\n%s", data)
	}
}
