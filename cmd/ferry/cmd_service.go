package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"ferry/engine/config"
	"ferry/platform/service"
)

var (
	installUsage = usage{
		name:     "install",
		synopsis: "[--system [--user USER]] [--json]",
		help: "Install ferry as a service that runs `ferry --home HOME serve` with this home directory, and start it:\n" +
			"this user's service, started at login (a systemd user unit, a LaunchAgent, a scheduled task on Windows),\n" +
			"or with --system a system-wide one started at boot (a systemd system unit, a LaunchDaemon, a Windows service).\n" +
			"A system-wide service never runs as root: it runs as the user `" + service.SystemUser + "` (made when missing), or --user,\n" +
			"with its home " + systemHomeText() + " unless --home is given; that user must be able to read and write the folders\n" +
			"it syncs. It prints where the service logs (`ferry log` shows it) and the web UI's address once the service\n" +
			"answers. If the service does not start, it stays installed and the command fails: see `ferry log`.",
	}
	uninstallUsage = usage{name: "uninstall", synopsis: "[--system] [--json]", help: "Stop the service that `ferry install` installed, if it runs, and remove it. Its log stays."}
	startUsage     = usage{name: "start", synopsis: "[--system] [--json]", help: "Start the installed service now."}
	stopUsage      = usage{name: "stop", synopsis: "[--system] [--json]", help: "Stop the installed service. It starts again at the next login (or boot)."}
	statusSvcUsage = usage{
		name: "service status", synopsis: "[--system] [--json]",
		help: "Print the service's state: running, stopped, failed or not installed; --json: {state, service, log}.",
	}
)

// controller is what the service commands do with a service: a
// *service.Controller, or a fake in tests.
type controller interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Status() (service.Status, error)
	Describe() string
	Inspect() string
	Config() service.Config
}

// serviceAction is what one service command does with the controller.
type serviceAction func(g *globals, c controller, mode service.Mode) int

func runInstall(g *globals, args []string) int {
	return g.serviceCommand(installUsage, args, service.HostProbe(), installService)
}

func runUninstall(g *globals, args []string) int {
	return g.serviceCommand(uninstallUsage, args, service.HostProbe(), uninstallService)
}

func runStart(g *globals, args []string) int {
	return g.serviceCommand(startUsage, args, service.HostProbe(), startService)
}

func runStop(g *globals, args []string) int {
	return g.serviceCommand(stopUsage, args, service.HostProbe(), stopService)
}

func runService(g *globals, args []string) int {
	return group{name: "service", subs: []subcommand{{statusSvcUsage, runServiceStatus}}}.run(g, args)
}

func runServiceStatus(g *globals, args []string) int {
	return g.serviceCommand(statusSvcUsage, args, service.HostProbe(), serviceStatus)
}

// serviceCommand parses [--system], prepares the controller for this binary
// and home as probe sees the machine, and runs act.
func (g *globals) serviceCommand(u usage, args []string, probe service.Probe, act serviceAction) int {
	fs := newFlagSet(u.name)
	system := fs.Bool("system", false, "the system-wide service instead of this user's")
	var runAs *string
	asJSON := jsonFlag(fs, "what it did, one object (see the README)")
	if u.name == installUsage.name {
		runAs = fs.String("user", "", "with --system: the `USER` the service runs as (default "+service.SystemUser+", made when missing)")
	}
	if _, code, ok := g.parse(u, fs, args, 0, 0); !ok {
		return code
	}
	mode := service.User
	if *system {
		mode = service.System
	}
	exe, err := os.Executable()
	if err != nil {
		return g.fail(u.name, fmt.Errorf("find the ferry binary: %w", err), "")
	}
	cfg := service.Config{Executable: exe, Home: g.home, Mode: mode}
	if runAs != nil {
		cfg.User = *runAs
	}
	if mode == service.System && !g.homeSet && service.SystemHome != "" {
		// Root's own home is out of the service user's reach.
		cfg.Home = service.SystemHome
	}
	c, err := service.NewController(cfg, probe)
	if err != nil {
		return g.fail(u.name, err, g.serviceHint(err, u.name, mode, ""))
	}
	g.json = *asJSON
	return act(g, c, mode)
}

// serviceHint says what to do after command failed with err.
func (g *globals) serviceHint(err error, command string, mode service.Mode, inspect string) string {
	home := shellQuote(g.home)
	serve := fmt.Sprintf("run `ferry --home %s serve` from your session's startup instead", home)
	asRoot := fmt.Sprintf("Run it as root: `sudo ferry --home %s %s --system`", home, command)
	if runtime.GOOS == "windows" {
		asRoot = "Run it as an administrator"
	}
	var nm *service.NoManagerError
	switch {
	case errors.As(err, &nm) && nm.OnlyUser:
		return "Install it system-wide with --system, or " + serve
	case errors.As(err, &nm):
		return "R" + serve[1:]
	case errors.Is(err, service.ErrNotInstalled):
		return "Install it with `ferry install" + systemFlag(mode) + "`"
	case errors.Is(err, service.ErrInstalled):
		return "Remove it first with `ferry uninstall" + systemFlag(mode) + "`"
	case runtime.GOOS == "windows" && mode == service.User && command == "install":
		return "If Windows does not let this user schedule tasks, an administrator can install a Windows service with `ferry install --system`"
	case mode == service.System && errors.Is(err, fs.ErrPermission):
		return asRoot
	case mode == service.System && os.Geteuid() > 0 && inspect != "":
		return asRoot + ", or see `" + inspect + "`"
	case inspect != "":
		return "See `" + inspect + "`"
	}
	return ""
}

func systemFlag(mode service.Mode) string {
	if mode == service.System {
		return " --system"
	}
	return ""
}

// systemHomeText names the default home of a system-wide service.
func systemHomeText() string {
	if service.SystemHome == "" {
		return "(the --home given)"
	}
	return service.SystemHome
}

// startWait bounds how long install waits for the started service to
// answer; startPoll is how often it looks.
var (
	startWait = 15 * time.Second
	startPoll = 200 * time.Millisecond
)

// quiet sends a service command's lines nowhere while it prints JSON
// instead; the returned func restores them.
func (g *globals) quiet() func() {
	if !g.json {
		return func() {}
	}
	out := g.stdout
	g.stdout = io.Discard
	return func() { g.stdout = out }
}

func installService(g *globals, c controller, mode service.Mode) int {
	restore := g.quiet()
	code := install(g, c, mode)
	restore()
	if code == exitOK && g.json {
		cfg := c.Config()
		return g.printJSON(map[string]string{"service": c.Describe(), "home": cfg.Home, "user": cfg.User, "log": cfg.LogFile, "ui": "http://" + g.startedAt + "/"})
	}
	return code
}

func install(g *globals, c controller, mode service.Mode) int {
	if err := c.Install(); err != nil {
		return g.fail("install", err, g.serviceHint(err, "install", mode, c.Inspect()))
	}
	cfg := c.Config()
	fmt.Fprintf(g.stdout, "installed %s, running `ferry --home %s serve`", c.Describe(), shellQuote(cfg.Home))
	if cfg.User != "" {
		fmt.Fprintf(g.stdout, " as user %s", cfg.User)
	}
	fmt.Fprintln(g.stdout)
	if cfg.Home != g.home {
		fmt.Fprintf(g.stdout, "its home is %s: give other commands `--home %[1]s` (e.g. `sudo ferry --home %[1]s ui`)\n", shellQuote(cfg.Home))
	}
	if cfg.LogFile != "" {
		fmt.Fprintf(g.stdout, "its log: %s (`ferry log%s` shows it, -f follows it)\n", cfg.LogFile, systemFlag(mode))
	}
	begin := time.Now()
	err := c.Start()
	addr := ""
	if err == nil {
		addr, err = waitAnswering(c, cfg.Home, begin)
	}
	if err != nil {
		hint := fmt.Sprintf("It stays installed: see `ferry log%s` and `%s`, then `ferry start%[1]s` (or `ferry uninstall%[1]s`)", systemFlag(mode), c.Inspect())
		return g.fail("install", err, hint)
	}
	g.startedAt = addr
	fmt.Fprintf(g.stdout, "started it; web UI at http://%s/ (run `ferry ui` to open it signed in)\n", addr)
	if mode == service.User && runtime.GOOS == "linux" {
		fmt.Fprintln(g.stdout, "to keep it running while you are logged out: `loginctl enable-linger`")
	}
	return exitOK
}

// waitAnswering waits, at most startWait, until the service started at
// begin records its API address in home, and returns the address to reach
// it at. It fails at once when the service manager says the service failed,
// and at the end of the wait when it is still not running or not answering.
func waitAnswering(c controller, home string, begin time.Time) (string, error) {
	deadline := time.Now().Add(startWait)
	for {
		fi, err := os.Stat(filepath.Join(home, apiAddrFile))
		// A record older than the start is a stale one of an earlier run.
		if err == nil && !fi.ModTime().Before(begin.Add(-time.Second)) {
			cfg, err := config.Load(home)
			if err != nil {
				cfg = config.Default()
			}
			return apiAddr(home, cfg), nil
		}
		st, err := c.Status()
		switch {
		case err != nil:
			return "", fmt.Errorf("started %s, but: %w", c.Describe(), err)
		case st == service.StatusFailed:
			return "", fmt.Errorf("started %s, but it failed", c.Describe())
		case time.Now().After(deadline) && st != service.StatusRunning:
			return "", fmt.Errorf("started %s, but it is %s", c.Describe(), st)
		case time.Now().After(deadline):
			return "", fmt.Errorf("started %s, but it has not answered within %v; it may still be starting", c.Describe(), startWait)
		}
		time.Sleep(startPoll)
	}
}

func uninstallService(g *globals, c controller, mode service.Mode) int {
	st, err := c.Status()
	if err == nil && st == service.StatusNotInstalled {
		err = service.ErrNotInstalled
	}
	if err != nil {
		return g.fail("uninstall", err, g.serviceHint(err, "uninstall", mode, c.Inspect()))
	}
	if st == service.StatusRunning {
		if err := c.Stop(); err != nil {
			return g.fail("uninstall", err, g.serviceHint(err, "uninstall", mode, c.Inspect()))
		}
		if !g.json {
			fmt.Fprintf(g.stdout, "stopped %s\n", c.Describe())
		}
	}
	if err := c.Uninstall(); err != nil {
		return g.fail("uninstall", err, g.serviceHint(err, "uninstall", mode, c.Inspect()))
	}
	if g.json {
		return g.printJSON(map[string]any{"removed": c.Describe(), "stopped": st == service.StatusRunning, "log": c.Config().LogFile})
	}
	fmt.Fprintf(g.stdout, "removed %s", c.Describe())
	if st != service.StatusRunning {
		fmt.Fprintf(g.stdout, " (it was %s)", st)
	}
	fmt.Fprintln(g.stdout)
	if log := c.Config().LogFile; log != "" {
		fmt.Fprintf(g.stdout, "its log stays at %s\n", log)
	}
	return exitOK
}

func startService(g *globals, c controller, mode service.Mode) int {
	if err := c.Start(); err != nil {
		return g.fail("start", err, g.serviceHint(err, "start", mode, c.Inspect()))
	}
	if g.json {
		return g.printJSON(map[string]string{"started": c.Describe()})
	}
	fmt.Fprintf(g.stdout, "started %s\n", c.Describe())
	return exitOK
}

func stopService(g *globals, c controller, mode service.Mode) int {
	if err := c.Stop(); err != nil {
		return g.fail("stop", err, g.serviceHint(err, "stop", mode, c.Inspect()))
	}
	if g.json {
		return g.printJSON(map[string]string{"stopped": c.Describe()})
	}
	fmt.Fprintf(g.stdout, "stopped %s\n", c.Describe())
	return exitOK
}

func serviceStatus(g *globals, c controller, mode service.Mode) int {
	st, err := c.Status()
	if err != nil {
		return g.fail("service status", err, g.serviceHint(err, "service status", mode, c.Inspect()))
	}
	if g.json {
		return g.printJSON(map[string]string{"state": fmt.Sprint(st), "service": c.Describe(), "log": c.Config().LogFile})
	}
	fmt.Fprintln(g.stdout, st)
	return exitOK
}
