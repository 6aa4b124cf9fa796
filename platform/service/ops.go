package service

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kardianos/service"
)

// Describe names the service and its file, e.g. "systemd user unit
// /home/me/.config/systemd/user/ferry.service".
func (c *Controller) Describe() string {
	kind := map[string][2]string{
		"linux":  {"systemd user unit", "systemd system unit"},
		"darwin": {"LaunchAgent", "LaunchDaemon"},
	}[c.goos]
	switch {
	case c.goos == "windows" && c.cfg.Mode == User:
		return "scheduled task " + c.cfg.Name + " (at logon)"
	case kind[0] == "":
		return "Windows service " + c.cfg.Name
	}
	return kind[c.cfg.Mode] + " " + c.path
}

// Inspect is a command that shows the service manager's view of the service.
func (c *Controller) Inspect() string {
	switch {
	case c.goos == "darwin":
		return "launchctl list " + c.cfg.Name
	case c.goos == "windows" && c.cfg.Mode == User:
		return "schtasks /Query /TN " + c.cfg.Name + " /V /FO LIST"
	case c.goos == "windows":
		return "sc query " + c.cfg.Name
	case c.cfg.Mode == User:
		return "systemctl --user status " + c.cfg.Name
	}
	return "systemctl status " + c.cfg.Name
}

// Status asks the service manager for the service's state.
func (c *Controller) Status() (Status, error) {
	st, err := c.svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return StatusNotInstalled, nil
	case err != nil && strings.Contains(err.Error(), "failed state"):
		// What the library returns for systemd's "failed".
		return StatusFailed, nil
	case err != nil:
		return StatusNotInstalled, fmt.Errorf("status of %s: %w", c.Describe(), err)
	case st == service.StatusRunning:
		return StatusRunning, nil
	}
	return StatusStopped, nil
}

// Install writes the service file and enables the service, which then
// starts at the next login (user) or boot (system). It does not start it.
// For a system-wide service it also makes the service's user, home and log
// directory.
func (c *Controller) Install() error {
	if c.path != "" {
		if _, err := os.Stat(c.path); err == nil {
			return fmt.Errorf("%w: %s exists", ErrInstalled, c.path)
		}
	} else if st, err := c.Status(); err == nil && st != StatusNotInstalled {
		return fmt.Errorf("%w (%s)", ErrInstalled, st)
	}
	if c.cfg.Mode == System && c.goos != "windows" {
		if err := prepareAccount(c.cfg); err != nil {
			return fmt.Errorf("install %s: %w", c.Describe(), err)
		}
	}
	if err := c.svc.Install(); err != nil {
		if c.path != "" {
			// The library leaves its file behind when enabling fails.
			os.Remove(c.path)
		}
		return fmt.Errorf("install %s: %w", c.Describe(), err)
	}
	return nil
}

// Uninstall stops the service if it runs and removes it.
func (c *Controller) Uninstall() error {
	st, err := c.installed()
	if err != nil {
		return err
	}
	if st == StatusRunning {
		if err := c.svc.Stop(); err != nil {
			return fmt.Errorf("stop %s before removing it: %w", c.Describe(), err)
		}
	}
	if err := c.svc.Uninstall(); err != nil {
		return fmt.Errorf("uninstall %s: %w", c.Describe(), err)
	}
	return nil
}

// Start starts the installed service; it is a no-op if it runs.
func (c *Controller) Start() error {
	st, err := c.installed()
	if err != nil || st == StatusRunning {
		return err
	}
	if err := c.svc.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.Describe(), err)
	}
	return nil
}

// Stop stops the installed service; it is a no-op if it is stopped.
func (c *Controller) Stop() error {
	st, err := c.installed()
	if err != nil || st != StatusRunning {
		return err
	}
	if err := c.svc.Stop(); err != nil {
		return fmt.Errorf("stop %s: %w", c.Describe(), err)
	}
	return nil
}

// installed returns the status, or ErrNotInstalled.
func (c *Controller) installed() (Status, error) {
	st, err := c.Status()
	if err == nil && st == StatusNotInstalled {
		err = ErrNotInstalled
	}
	return st, err
}

// Config is the service's configuration, with defaults filled in.
func (c *Controller) Config() Config { return c.cfg }
