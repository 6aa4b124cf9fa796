package service

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// fakeProbe is a machine with the given files (name → content; content is
// ignored for directories) and user ID 1000.
func fakeProbe(files map[string]string) Probe {
	return Probe{
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

func TestDetectInit(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  InitSystem
	}{
		{"systemd", map[string]string{"/proc/1/comm": "systemd\n", "/run/systemd/system": ""}, InitSystem{InitSystemd, "systemd"}},
		{"systemd booted via /sbin/init", map[string]string{"/proc/1/comm": "init\n", "/run/systemd/system": ""}, InitSystem{InitSystemd, "init"}},
		{"systemd without its run dir", map[string]string{"/proc/1/comm": "systemd\n"}, InitSystem{InitSystemd, "systemd"}},
		{"sysvinit", map[string]string{"/proc/1/comm": "init\n", "/run/systemd": ""}, InitSystem{InitOther, "init"}},
		{"openrc", map[string]string{"/proc/1/comm": "openrc-init\n"}, InitSystem{InitOther, "openrc-init"}},
		{"container shell", map[string]string{"/proc/1/comm": "sh\n"}, InitSystem{InitNone, "sh"}},
		{"container bash", map[string]string{"/proc/1/comm": "bash\n"}, InitSystem{InitNone, "bash"}},
		{"container tini", map[string]string{"/proc/1/comm": "tini\n"}, InitSystem{InitNone, "tini"}},
		{"container supervisor as PID 1", map[string]string{"/proc/1/comm": "process_api\n", "/run/systemd": ""}, InitSystem{InitNone, "process_api"}},
		{"no proc", map[string]string{}, InitSystem{InitNone, ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DetectInit(fakeProbe(c.files)); got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestCheckLinux(t *testing.T) {
	systemd := map[string]string{"/proc/1/comm": "systemd", "/run/systemd/system": ""}
	withUser := map[string]string{"/proc/1/comm": "systemd", "/run/systemd/system": "", "/run/user/1000/systemd": ""}
	cases := []struct {
		name     string
		files    map[string]string
		mode     Mode
		want     string // "" for no error
		onlyUser bool
	}{
		{"user unit", withUser, User, "", false},
		{"system unit", systemd, System, "", false},
		{"no user manager", systemd, User, "the systemd user manager is not running for user 1000 (no /run/user/1000/systemd)", true},
		{"shell", map[string]string{"/proc/1/comm": "sh"}, User, "no service manager is running (PID 1 is sh)", false},
		{"shell, system", map[string]string{"/proc/1/comm": "sh"}, System, "no service manager is running (PID 1 is sh)", false},
		{"unknown", map[string]string{}, User, "no service manager is running (PID 1 is unknown)", false},
		{"sysvinit", map[string]string{"/proc/1/comm": "init"}, System, "ferry installs services with systemd only, and PID 1 is init", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkLinux(fakeProbe(c.files), c.mode)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var nm *NoManagerError
			if !errors.As(err, &nm) || err.Error() != c.want || nm.OnlyUser != c.onlyUser {
				t.Fatalf("got %#v, want a NoManagerError %q (OnlyUser %v)", err, c.want, c.onlyUser)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	cfg := Config{Name: "ferry", Executable: "/usr/bin/ferry", Home: "/home/ana/ferry"}
	withUser := fakeProbe(map[string]string{"/run/systemd/system": "", "/run/user/1000/systemd": ""})
	opts, err := options("linux", cfg, withUser)
	if err != nil {
		t.Fatal(err)
	}
	unit, _ := UnitFile(cfg)
	if opts["SystemdScript"] != unit || opts["UserService"] != true {
		t.Errorf("linux options %v", opts)
	}
	if _, err := options("linux", cfg, fakeProbe(map[string]string{"/proc/1/comm": "sh"})); err == nil {
		t.Error("linux without systemd: no error")
	}
	sys := cfg
	sys.Mode = System
	opts, err = options("darwin", sys, Probe{})
	plist, _ := LaunchdPlist(sys)
	if err != nil || opts["LaunchdConfig"] != plist || opts["UserService"] != false {
		t.Errorf("darwin options %v, %v", opts, err)
	}
	opts, err = options("windows", cfg, Probe{})
	if err != nil || opts["OnFailure"] != "restart" || opts["OnFailureDelayDuration"] != "5s" {
		t.Errorf("windows options %v, %v", opts, err)
	}
	if _, err := options("plan9", cfg, Probe{}); err == nil || !strings.Contains(err.Error(), "plan9") {
		t.Errorf("plan9: %v", err)
	}
}

func TestServicePath(t *testing.T) {
	t.Setenv("HOME", "/home/ana")
	cases := []struct {
		goos string
		mode Mode
		want string
	}{
		{"linux", User, "/home/ana/.config/systemd/user/ferry.service"},
		{"linux", System, "/etc/systemd/system/ferry.service"},
		{"darwin", User, "/home/ana/Library/LaunchAgents/ferry.plist"},
		{"darwin", System, "/Library/LaunchDaemons/ferry.plist"},
		{"windows", System, ""},
	}
	for _, c := range cases {
		got, err := servicePath(c.goos, Config{Name: "ferry", Mode: c.mode})
		if err != nil || got != c.want {
			t.Errorf("%s %s: %q, %v; want %q", c.goos, c.mode, got, err, c.want)
		}
	}
}
