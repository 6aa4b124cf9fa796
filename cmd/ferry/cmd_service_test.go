package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/engine/node"
	"ferry/index"
	"ferry/platform"
	"ferry/platform/service"
)

// probeOf is a Linux machine with the given files (name → content) as the
// service package sees it, for user ID 1000.
func probeOf(files map[string]string) service.Probe {
	return service.Probe{
		ReadFile: func(name string) ([]byte, error) {
			if c, ok := files[name]; ok {
				return []byte(c), nil
			}
			return nil, fs.ErrNotExist
		},
		Exists: func(name string) bool { _, ok := files[name]; return ok },
		UID:    1000,
	}
}

// TestServiceCommandsWithoutManager runs every service command on machines
// where no usable service manager runs: each fails with one line saying so
// and how to run ferry instead.
func TestServiceCommandsWithoutManager(t *testing.T) {
	home := filepath.Join(t.TempDir(), "my home")
	serve := "Run `ferry --home '" + home + "' serve` from your session's startup instead"
	machines := []struct {
		name  string
		files map[string]string
		args  []string
		want  string
	}{
		{"shell", map[string]string{"/proc/1/comm": "sh\n"}, nil, "no service manager is running (PID 1 is sh). " + serve},
		{"sandbox", map[string]string{"/proc/1/comm": "process_api\n"}, []string{"--system"}, "no service manager is running (PID 1 is process_api). " + serve},
		{"sysvinit", map[string]string{"/proc/1/comm": "init\n"}, nil, "ferry installs services with systemd only, and PID 1 is init. " + serve},
		{"no user manager", map[string]string{"/proc/1/comm": "systemd\n", "/run/systemd/system": ""}, nil,
			"the systemd user manager is not running for user 1000 (no /run/user/1000/systemd). Install it system-wide with --system, or run `ferry"},
	}
	commands := []struct {
		u   usage
		act serviceAction
	}{
		{installUsage, installService}, {uninstallUsage, uninstallService}, {startUsage, startService},
		{stopUsage, stopService}, {statusSvcUsage, serviceStatus},
	}
	for _, m := range machines {
		for _, c := range commands {
			t.Run(m.name+"/"+c.u.name, func(t *testing.T) {
				var out, errOut bytes.Buffer
				g := &globals{home: home, stdout: &out, stderr: &errOut}
				code := g.serviceCommand(c.u, m.args, probeOf(m.files), c.act)
				want := "ferry: " + c.u.name + ": " + m.want
				if code != exitError || !strings.HasPrefix(errOut.String(), want) || strings.Count(errOut.String(), "\n") != 1 || out.Len() != 0 {
					t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q", code, out.String(), errOut.String(), want)
				}
			})
		}
	}
}

// TestInstallOnThisMachine runs `ferry install` as a user would. It changes
// nothing where no service manager runs, as on the machines this project
// builds on; where one runs it only checks that detection names PID 1, and
// does not touch the machine's services.
func TestInstallOnThisMachine(t *testing.T) {
	home := t.TempDir()
	is := service.DetectInit(service.HostProbe())
	if is.Kind == service.InitSystemd {
		if is.PID1 == "" {
			t.Fatal("systemd detected but PID 1 unknown")
		}
		t.Logf("systemd runs here (PID 1 is %s): not installing a service from a test", is.PID1)
		return
	}
	fails(t, home, "(PID 1 is ", "install")
	r := ferry(t, home, "install")
	if !strings.Contains(r.stderr, "Run `ferry --home "+home+" serve` from your session's startup instead") {
		t.Fatalf("stderr %q does not say how to run ferry instead", r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("stdout %q", r.stdout)
	}
}

func TestServiceUsage(t *testing.T) {
	home := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"install", "now"}, exitUsage, `unexpected argument "now"`},
		{[]string{"stop", "--force"}, exitUsage, "flag provided but not defined"},
		{[]string{"service"}, exitUsage, "ferry service status [--system]"},
		{[]string{"service", "restart"}, exitUsage, `unknown command "restart"`},
		{[]string{"help", "install"}, exitOK, "--system"},
		{[]string{"install", "--system", "--user", "root"}, exitError, "does not run as root"},
		{[]string{"install", "--user", "ana"}, exitError, "--user is for a system-wide one"},
		{[]string{"start", "--user", "ana"}, exitUsage, "flag provided but not defined"},
		{[]string{"service", "status", "--help"}, exitOK, "running, stopped, failed or not installed"},
	}
	for _, c := range cases {
		r := ferry(t, home, c.args...)
		if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("ferry %v: exit %d, output %q; want exit %d and %q", c.args, r.code, r.stdout+r.stderr, c.code, c.want)
		}
	}
}

// TestDaemonUnderServiceProgram runs the daemon as the service manager
// would (Start, then Stop) on a fresh home: Stop returns promptly and the
// index and the home lock are free afterwards.
func TestDaemonUnderServiceProgram(t *testing.T) {
	home := t.TempDir()
	ready := make(chan string, 1)
	p := service.NewProgram(func(ctx context.Context) error {
		return node.Run(ctx, node.Options{
			Home: home, Listen: []string{"127.0.0.1:0"}, GUI: "127.0.0.1:0",
			Logger: slog.New(slog.DiscardHandler),
			Ready:  func(addr string) { ready <- addr },
		})
	}, service.StopTimeout)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	case <-p.Done():
		t.Fatalf("daemon ended before it was ready: %v", p.Stop())
	case <-time.After(10 * time.Second):
		t.Fatal("daemon not ready after 10s")
	}
	begin := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	db, err := index.Open(filepath.Join(home, "index.db"))
	if err != nil {
		t.Fatalf("reopen the index after Stop: %v", err)
	}
	if _, err := db.Folders(); err != nil {
		t.Fatalf("read the reopened index: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	unlock, err := platform.LockHome(home)
	if err != nil {
		t.Fatalf("home still locked after Stop: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestServiceHint(t *testing.T) {
	g := &globals{home: "/home/ana/my ferry"}
	perm := &fs.PathError{Op: "open", Path: "/etc/systemd/system/ferry.service", Err: fs.ErrPermission}
	cases := []struct {
		name    string
		err     error
		command string
		mode    service.Mode
		want    string
	}{
		{"no manager", &service.NoManagerError{Reason: "x"}, "install", service.User,
			"Run `ferry --home '/home/ana/my ferry' serve` from your session's startup instead"},
		{"no user manager", &service.NoManagerError{Reason: "x", OnlyUser: true}, "start", service.User,
			"Install it system-wide with --system, or run `ferry --home '/home/ana/my ferry' serve` from your session's startup instead"},
		{"not installed", fmt.Errorf("x: %w", service.ErrNotInstalled), "start", service.System, "Install it with `ferry install --system`"},
		{"installed", fmt.Errorf("x: %w", service.ErrInstalled), "install", service.User, "Remove it first with `ferry uninstall`"},
		{"permission", fmt.Errorf("install: %w", perm), "install", service.System, "Run it as root: `sudo ferry --home '/home/ana/my ferry' install --system`"},
		{"permission, user", fmt.Errorf("install: %w", perm), "install", service.User, "See `systemctl --user status ferry`"},
	}
	for _, c := range cases {
		if got := g.serviceHint(c.err, c.command, c.mode, "systemctl --user status ferry"); got != c.want {
			t.Errorf("%s: hint %q, want %q", c.name, got, c.want)
		}
	}
}

// fakeController is a service manager in memory. Its Start writes the API
// address into the home as the daemon does once it answers, unless
// noAnswer; startErr fails the start, and after is the state once started.
type fakeController struct {
	cfg      service.Config
	state    service.Status
	startErr error
	after    service.Status
	noAnswer bool
	calls    []string
}

func (f *fakeController) Install() error {
	f.calls = append(f.calls, "install")
	f.state = service.StatusStopped
	return nil
}

func (f *fakeController) Uninstall() error {
	f.calls = append(f.calls, "uninstall")
	if f.state == service.StatusRunning {
		return fmt.Errorf("uninstall while running")
	}
	f.state = service.StatusNotInstalled
	return nil
}

func (f *fakeController) Start() error {
	f.calls = append(f.calls, "start")
	if f.startErr != nil {
		return f.startErr
	}
	f.state = f.after
	if !f.noAnswer && f.after == service.StatusRunning {
		return writeAPIAddr(f.cfg.Home, "127.0.0.1:18484")
	}
	return nil
}

func (f *fakeController) Stop() error {
	f.calls = append(f.calls, "stop")
	f.state = service.StatusStopped
	return nil
}

func (f *fakeController) Status() (service.Status, error) { return f.state, nil }
func (f *fakeController) Describe() string                { return "systemd user unit /u/ferry.service" }
func (f *fakeController) Inspect() string                 { return "systemctl --user status ferry" }
func (f *fakeController) Config() service.Config          { return f.cfg }

func newFake(t *testing.T) (*globals, *fakeController, *bytes.Buffer, *bytes.Buffer) {
	home := t.TempDir()
	var out, errOut bytes.Buffer
	g := &globals{home: home, stdout: &out, stderr: &errOut}
	f := &fakeController{cfg: service.Config{Home: home, LogFile: "/home/ana/.local/state/ferry/ferry.log"}, after: service.StatusRunning}
	return g, f, &out, &errOut
}

// TestInstallStarts: install installs, starts, and prints the log's place
// and the address the daemon answers at.
func TestInstallStarts(t *testing.T) {
	g, f, out, errOut := newFake(t)
	if code := installService(g, f, service.User); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if got := strings.Join(f.calls, ","); got != "install,start" {
		t.Errorf("calls %s, want install,start", got)
	}
	for _, want := range []string{
		"installed systemd user unit /u/ferry.service",
		"its log: /home/ana/.local/state/ferry/ferry.log (`ferry log` shows it, -f follows it)",
		"started it; web UI at http://127.0.0.1:18484/ (run `ferry ui` to open it signed in)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout %q lacks %q", out, want)
		}
	}
	if strings.Contains(out.String(), "ferry start") {
		t.Errorf("stdout still tells to start it: %q", out)
	}
}

// TestInstallStartFails: a service that does not start fails the command
// with exit 1 and one line saying what to do, and stays installed.
func TestInstallStartFails(t *testing.T) {
	defer func(w time.Duration) { startWait = w }(startWait)
	startWait = 300 * time.Millisecond
	cases := []struct {
		name string
		edit func(f *fakeController)
		want string
	}{
		{"start refused", func(f *fakeController) { f.startErr = fmt.Errorf("systemctl start: exit status 1") }, "systemctl start: exit status 1"},
		{"failed", func(f *fakeController) { f.after = service.StatusFailed }, "started systemd user unit /u/ferry.service, but it failed"},
		{"stopped", func(f *fakeController) { f.after = service.StatusStopped }, "but it is stopped"},
		{"silent", func(f *fakeController) { f.noAnswer = true }, "but it has not answered within 300ms; it may still be starting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, f, out, errOut := newFake(t)
			// A record of an earlier run is not an answer.
			writeAPIAddr(g.home, "127.0.0.1:1")
			old := time.Now().Add(-time.Hour)
			os.Chtimes(filepath.Join(g.home, apiAddrFile), old, old)
			c.edit(f)
			code := installService(g, f, service.User)
			hint := "It stays installed: see `ferry log` and `systemctl --user status ferry`, then `ferry start` (or `ferry uninstall`)"
			if code != exitError || strings.Count(errOut.String(), "\n") != 1 || !strings.HasPrefix(errOut.String(), "ferry: install: ") ||
				!strings.Contains(errOut.String(), c.want) || !strings.HasSuffix(errOut.String(), hint+"\n") {
				t.Fatalf("exit %d, stderr %q; want exit 1 and one line with %q and the hint", code, errOut, c.want)
			}
			if slices.Contains(f.calls, "uninstall") || f.state == service.StatusNotInstalled {
				t.Error("the service was removed")
			}
			if !strings.Contains(out.String(), "its log: ") {
				t.Errorf("stdout %q does not say where the log is", out)
			}
		})
	}
}

// TestUninstallStopsAndRemoves: a running service is stopped, then
// removed, and the output says both; a stopped one is only removed.
func TestUninstallStopsAndRemoves(t *testing.T) {
	g, f, out, errOut := newFake(t)
	f.state = service.StatusRunning
	if code := uninstallService(g, f, service.User); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if got := strings.Join(f.calls, ","); got != "stop,uninstall" {
		t.Errorf("calls %s, want stop,uninstall", got)
	}
	want := "stopped systemd user unit /u/ferry.service\nremoved systemd user unit /u/ferry.service\nits log stays at /home/ana/.local/state/ferry/ferry.log\n"
	if out.String() != want {
		t.Errorf("stdout %q, want %q", out, want)
	}

	g, f, out, _ = newFake(t)
	f.state = service.StatusStopped
	if code := uninstallService(g, f, service.User); code != exitOK || strings.Join(f.calls, ",") != "uninstall" ||
		!strings.HasPrefix(out.String(), "removed systemd user unit /u/ferry.service (it was stopped)\n") {
		t.Errorf("stopped service: exit %d, calls %v, stdout %q", code, f.calls, out)
	}

	g, f, _, errOut = newFake(t)
	f.state = service.StatusNotInstalled
	if code := uninstallService(g, f, service.System); code != exitError || len(f.calls) != 0 ||
		!strings.Contains(errOut.String(), "not installed. Install it with `ferry install --system`") {
		t.Errorf("missing service: exit %d, calls %v, stderr %q", code, f.calls, errOut)
	}
}

// TestServiceStatusJSON: service status --json names the state, the
// service and its log.
func TestServiceStatusJSON(t *testing.T) {
	g, f, out, _ := newFake(t)
	f.state = service.StatusRunning
	g.json = true
	if code := serviceStatus(g, f, service.User); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["state"] != fmt.Sprint(service.StatusRunning) || got["service"] != f.Describe() || got["log"] != f.cfg.LogFile {
		t.Fatalf("service status --json = %v", got)
	}
}

// TestServiceCommandsJSON: install, stop, start and uninstall print one
// JSON object each with --json, and nothing else.
func TestServiceCommandsJSON(t *testing.T) {
	g, f, out, errOut := newFake(t)
	g.json = true
	decode := func(what string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("%s --json printed %q: %v (stderr %q)", what, out, err, errOut)
		}
		out.Reset()
		return m
	}
	if code := installService(g, f, service.User); code != exitOK {
		t.Fatalf("install: exit %d, %q", code, errOut)
	}
	if m := decode("install"); m["ui"] != "http://127.0.0.1:18484/" || m["log"] != f.cfg.LogFile || m["service"] != f.Describe() {
		t.Fatalf("install --json = %v", m)
	}
	if code := stopService(g, f, service.User); code != exitOK || decode("stop")["stopped"] != f.Describe() {
		t.Fatal("stop --json")
	}
	if code := startService(g, f, service.User); code != exitOK || decode("start")["started"] != f.Describe() {
		t.Fatal("start --json")
	}
	if m := (func() map[string]any { uninstallService(g, f, service.User); return decode("uninstall") })(); m["removed"] != f.Describe() || m["stopped"] != true {
		t.Fatalf("uninstall --json = %v", m)
	}
}
