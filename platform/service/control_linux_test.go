package service

import (
	"errors"
	"strings"
	"testing"

	"github.com/kardianos/service"
)

// TestNewControllerAgreesWithLibrary: where ferry sees systemd but the
// library picked another system (it falls back to System V silently), the
// controller refuses instead of installing an init script.
func TestNewControllerAgreesWithLibrary(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	probe := fakeProbe(map[string]string{"/proc/1/comm": "systemd", "/run/systemd/system": "", "/run/user/1000/systemd": ""})
	c, err := NewController(Config{Executable: "/usr/bin/ferry", Home: "/home/ana/ferry"}, probe)
	if service.Platform() == "linux-systemd" {
		if err != nil || !strings.HasSuffix(c.Describe(), "/.config/systemd/user/ferry.service") {
			t.Fatalf("controller %v, %v", c, err)
		}
		return
	}
	var nm *NoManagerError
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), "the service library chose "+service.Platform()) {
		t.Fatalf("library chose %s; got %v", service.Platform(), err)
	}
}

func TestNewControllerWithoutManager(t *testing.T) {
	_, err := NewController(Config{Executable: "/usr/bin/ferry", Home: "/h"}, fakeProbe(map[string]string{"/proc/1/comm": "bash"}))
	var nm *NoManagerError
	if !errors.As(err, &nm) || err.Error() != "no service manager is running (PID 1 is bash)" {
		t.Fatalf("got %v", err)
	}
}
