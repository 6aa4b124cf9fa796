package service

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"
)

// Status is the state of the installed service.
type Status int

// Statuses.
const (
	StatusNotInstalled Status = iota
	StatusStopped
	StatusRunning
	StatusFailed // stopped after a failure (systemd's "failed" state)
)

func (s Status) String() string {
	switch s {
	case StatusStopped:
		return "stopped"
	case StatusRunning:
		return "running"
	case StatusFailed:
		return "failed"
	}
	return "not installed"
}

// Errors a caller may branch on.
var (
	ErrNotInstalled = errors.New("ferry's service is not installed")
	ErrInstalled    = errors.New("ferry's service is already installed")
)

// Controller installs, removes, starts and stops ferry's service.
type Controller struct {
	cfg  Config
	goos string
	path string // the service file; "" on Windows
	svc  backend
}

// NewController prepares to control the service cfg describes, which logs
// to the platform's place (LogPath) unless cfg names a log file. On Linux it
// returns a *NoManagerError unless systemd (and, for a user unit, the user's
// systemd manager) runs, as p sees it. A Windows user's service is a
// scheduled task.
func NewController(cfg Config, p Probe) (*Controller, error) {
	if cfg.LogFile == "" {
		path, err := HostLogPath(cfg.Mode)
		if err != nil {
			return nil, err
		}
		cfg.LogFile = path
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	goos := runtime.GOOS
	if goos == "windows" && cfg.Mode == User {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("scheduled task %s: find the current user: %w", cfg.Name, err)
		}
		return &Controller{cfg: cfg, goos: goos, svc: newTask(cfg, u.Username)}, nil
	}
	opts, err := options(goos, cfg, p)
	if err != nil {
		return nil, err
	}
	path, err := servicePath(goos, cfg)
	if err != nil {
		return nil, err
	}
	s, err := service.New(idle{}, &service.Config{
		Name: cfg.Name, DisplayName: "ferry", Description: "ferry folder sync",
		Executable: cfg.Executable, Arguments: cfg.Args(), Option: opts,
	})
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", cfg.Name, err)
	}
	if goos == "linux" && s.Platform() != "linux-systemd" {
		return nil, &NoManagerError{Reason: fmt.Sprintf("systemd runs but the service library chose %s", s.Platform())}
	}
	return &Controller{cfg: cfg, goos: goos, path: path, svc: s}, nil
}

// options are the library's options for cfg on goos: ferry's own service
// file, and on Windows a restart after a failure (off by default there).
func options(goos string, cfg Config, p Probe) (service.KeyValue, error) {
	switch goos {
	case "linux":
		if err := checkLinux(p, cfg.Mode); err != nil {
			return nil, err
		}
		unit, err := UnitFile(cfg)
		return service.KeyValue{"UserService": cfg.Mode == User, "SystemdScript": unit}, err
	case "darwin":
		plist, err := LaunchdPlist(cfg)
		return service.KeyValue{"UserService": cfg.Mode == User, "LaunchdConfig": plist}, err
	case "windows":
		return service.KeyValue{
			"StartType": "automatic", "OnFailure": "restart",
			"OnFailureDelayDuration": fmt.Sprintf("%ds", restartSec),
		}, nil
	}
	return nil, fmt.Errorf("ferry cannot install a service on %s", goos)
}

// servicePath is where the library writes cfg's service file on goos.
func servicePath(goos string, cfg Config) (string, error) {
	if goos == "windows" {
		return "", nil
	}
	var dir string
	switch {
	case goos == "linux" && cfg.Mode == System:
		dir = "/etc/systemd/system"
	case goos == "darwin" && cfg.Mode == System:
		dir = "/Library/LaunchDaemons"
	default:
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("service file: %w", err)
		}
		dir = filepath.Join(home, ".config/systemd/user")
		if goos == "darwin" {
			dir = filepath.Join(home, "Library/LaunchAgents")
		}
	}
	if goos == "darwin" {
		return filepath.Join(dir, cfg.Name+".plist"), nil
	}
	return filepath.Join(dir, cfg.Name+".service"), nil
}

// idle is the service.Interface of a Controller, which never runs the
// service itself.
type idle struct{}

func (idle) Start(service.Service) error { return nil }
func (idle) Stop(service.Service) error  { return nil }
