package service

import (
	"fmt"
	"os"
	"strings"
)

// InitKind is the kind of PID 1 found on Linux.
type InitKind int

// Init kinds.
const (
	InitNone    InitKind = iota // no service manager: a shell, a container runtime's helper, …
	InitSystemd                 // systemd, which ferry installs its service with
	InitOther                   // another init system (System V init, OpenRC, runit, …)
)

// InitSystem is what runs as PID 1.
type InitSystem struct {
	Kind InitKind
	PID1 string // PID 1's command name; "" if unknown
}

// Probe is how detection looks at the machine; tests pass fakes.
type Probe struct {
	ReadFile func(name string) ([]byte, error)
	Exists   func(name string) bool
	UID      int // the current user's ID, for the user manager's runtime directory
}

// HostProbe looks at this machine.
func HostProbe() Probe {
	return Probe{
		ReadFile: os.ReadFile,
		Exists: func(name string) bool {
			_, err := os.Stat(name)
			return err == nil
		},
		UID: os.Getuid(),
	}
}

// otherInits are PID 1 command names of init systems other than systemd.
var otherInits = map[string]bool{
	"init": true, "openrc-init": true, "runit": true, "runit-init": true,
	"s6-svscan": true, "upstart": true, "busybox": true, "shepherd": true, "dinit": true,
}

// DetectInit tells which init system runs on a Linux machine. Like
// sd_booted(3), a directory /run/systemd/system means systemd booted the
// machine; otherwise PID 1's command name decides.
func DetectInit(p Probe) InitSystem {
	var pid1 string
	if b, err := p.ReadFile("/proc/1/comm"); err == nil {
		pid1 = strings.TrimSpace(string(b))
	}
	switch {
	case p.Exists("/run/systemd/system") || pid1 == "systemd":
		return InitSystem{Kind: InitSystemd, PID1: pid1}
	case otherInits[pid1]:
		return InitSystem{Kind: InitOther, PID1: pid1}
	}
	return InitSystem{Kind: InitNone, PID1: pid1}
}

// NoManagerError says that no usable service manager runs, so ferry cannot
// install itself as a service here.
type NoManagerError struct {
	Reason string
	// OnlyUser is set when systemd runs but the user's manager does not: a
	// system-wide service would work.
	OnlyUser bool
}

func (e *NoManagerError) Error() string { return e.Reason }

// checkLinux returns a *NoManagerError unless systemd runs and, for a user
// unit, the user's systemd manager runs too.
func checkLinux(p Probe, mode Mode) error {
	is := DetectInit(p)
	pid1 := is.PID1
	if pid1 == "" {
		pid1 = "unknown"
	}
	switch is.Kind {
	case InitNone:
		return &NoManagerError{Reason: fmt.Sprintf("no service manager is running (PID 1 is %s)", pid1)}
	case InitOther:
		return &NoManagerError{Reason: fmt.Sprintf("ferry installs services with systemd only, and PID 1 is %s", pid1)}
	}
	if mode == User {
		dir := fmt.Sprintf("/run/user/%d/systemd", p.UID)
		if !p.Exists(dir) {
			return &NoManagerError{
				Reason:   fmt.Sprintf("the systemd user manager is not running for user %d (no %s)", p.UID, dir),
				OnlyUser: true,
			}
		}
	}
	return nil
}
