package service

import (
	"strings"
	"testing"
)

func TestLogPath(t *testing.T) {
	env := map[string]string{
		"LOCALAPPDATA": `C:\Users\ana\AppData\Local`, "ProgramData": `C:\ProgramData\`,
	}
	cases := []struct {
		goos  string
		mode  Mode
		state string // $XDG_STATE_HOME
		want  string
	}{
		{"linux", User, "", "/home/ana/.local/state/ferry/ferry.log"},
		{"linux", User, "/home/ana/state", "/home/ana/state/ferry/ferry.log"},
		{"linux", User, "relative/state", "/home/ana/.local/state/ferry/ferry.log"},
		{"linux", System, "/home/ana/state", "/var/log/ferry/ferry.log"},
		{"darwin", User, "/x", "/home/ana/Library/Logs/ferry/ferry.log"},
		{"darwin", System, "", "/Library/Logs/ferry/ferry.log"},
		{"windows", User, "", `C:\Users\ana\AppData\Local\ferry\logs\ferry.log`},
		{"windows", System, "", `C:\ProgramData\ferry\logs\ferry.log`},
	}
	for _, c := range cases {
		getenv := func(k string) string {
			if k == "XDG_STATE_HOME" {
				return c.state
			}
			return env[k]
		}
		got, err := LogPath(c.goos, c.mode, getenv, "/home/ana")
		if err != nil || got != c.want {
			t.Errorf("%s %s (XDG_STATE_HOME=%q): %q, %v; want %q", c.goos, c.mode, c.state, got, err, c.want)
		}
	}
	// Without a usable home or variable, a clear error instead of a
	// relative path.
	for _, c := range []struct {
		goos string
		mode Mode
		want string
	}{
		{"linux", User, `the home directory "" is not an absolute path`},
		{"darwin", User, `the home directory "" is not an absolute path`},
		{"windows", User, `%LOCALAPPDATA% is "", not an absolute path`},
		{"windows", System, `%ProgramData% is "", not an absolute path`},
	} {
		_, err := LogPath(c.goos, c.mode, func(string) string { return "" }, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s without a home: %v, want %q", c.goos, c.mode, err, c.want)
		}
	}
	if p, err := LogPath("linux", System, func(string) string { return "" }, ""); err != nil || p != "/var/log/ferry/ferry.log" {
		t.Errorf("a system log needs no home: %q, %v", p, err)
	}
}

func TestArgsPassLogFile(t *testing.T) {
	cfg := Config{Home: "/h", LogFile: "/var/log/ferry/ferry.log"}
	if got := strings.Join(cfg.Args(), " "); got != "--home /h serve --log-file /var/log/ferry/ferry.log" {
		t.Errorf("Args %q", got)
	}
	cfg.LogFile = ""
	if got := strings.Join(cfg.Args(), " "); got != "--home /h serve" {
		t.Errorf("Args without a log file %q", got)
	}
	bad := Config{Executable: "/bin/ferry", Home: "/h", LogFile: "ferry.log"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `service log file "ferry.log": not an absolute path`) {
		t.Errorf("relative log file: %v", err)
	}
}
