package service

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultName is the service name ferry installs under.
const DefaultName = "ferry"

// Mode says whose service it is.
type Mode int

// Modes.
const (
	User   Mode = iota // the current user's service, started at login
	System             // a system-wide service, started at boot
)

func (m Mode) String() string {
	if m == System {
		return "system"
	}
	return "user"
}

// Config describes the service to install.
type Config struct {
	Name       string // service name; DefaultName if empty
	Executable string // absolute path of the ferry binary
	Home       string // absolute home directory the service runs with
	Mode       Mode
}

// Validate fills defaults and checks that the service files can hold the
// paths: absolute, with no control characters, and no "{{" (the service
// library renders the files as templates).
func (c *Config) Validate() error {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if strings.ContainsFunc(c.Name, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return fmt.Errorf("service name %q: want letters, digits, '-', '_' or '.'", c.Name)
	}
	if c.Mode != User && c.Mode != System {
		return fmt.Errorf("service mode %d: want user or system", c.Mode)
	}
	for _, p := range []struct{ what, path string }{{"executable", c.Executable}, {"home", c.Home}} {
		if err := checkPath(p.path); err != nil {
			return fmt.Errorf("service %s %q: %w", p.what, p.path, err)
		}
	}
	return nil
}

func checkPath(p string) error {
	switch {
	case !filepath.IsAbs(p):
		return fmt.Errorf("not an absolute path")
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("contains a control character")
	case strings.Contains(p, "{{"):
		return fmt.Errorf(`contains "{{", which a service file cannot hold`)
	}
	return nil
}

// Args are the arguments the service passes to the ferry binary.
func (c Config) Args() []string {
	return []string{"--home", c.Home, "serve"}
}
