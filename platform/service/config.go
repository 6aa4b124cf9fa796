package service

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultName is the service name ferry installs under.
const DefaultName = "ferry"

// SystemUser is the account a system-wide service runs as unless told
// otherwise: its own, never root, so that a flaw reached over the network
// or the API gets no more than ferry's own files and folders.
const SystemUser = "ferry"

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
	// User is the account a system-wide service runs as on Linux and macOS
	// (SystemUser when empty); a user service runs as its user. Windows
	// runs system services as its service account.
	User string
	// LogFile is the daemon's log file, passed as serve --log-file; none
	// when empty. NewController sets the platform's place (LogPath).
	LogFile string
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
	switch {
	case c.Mode == User && c.User != "":
		return fmt.Errorf("a user service runs as its user; --user is for a system-wide one")
	case c.Mode == System && c.User == "":
		c.User = SystemUser
	}
	if c.User == "root" || c.User == "0" {
		return fmt.Errorf("the system-wide service does not run as root; give it its own user (the default, %q) or yours", SystemUser)
	}
	if c.User != "" && !validUserName(c.User) {
		return fmt.Errorf("user name %q: want a letter or '_', then letters, digits, '_', '-' or '.'", c.User)
	}
	for _, p := range []struct{ what, path string }{{"executable", c.Executable}, {"home", c.Home}, {"log file", c.LogFile}} {
		if p.what == "log file" && p.path == "" {
			continue
		}
		if err := checkPath(p.path); err != nil {
			return fmt.Errorf("service %s %q: %w", p.what, p.path, err)
		}
	}
	return nil
}

func validUserName(n string) bool {
	if len(n) > 32 {
		return false
	}
	for i, r := range n {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return n != ""
}

func checkPath(p string) error {
	switch {
	case !filepath.IsAbs(p) && !windowsAbs(p):
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
	args := []string{"--home", c.Home, "serve"}
	if c.LogFile != "" {
		args = append(args, "--log-file", c.LogFile)
	}
	return args
}
