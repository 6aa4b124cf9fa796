package service

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LogName is the name of the service's log file.
const LogName = "ferry.log"

// LogPath is where the service of mode writes its log on goos, in the
// platform's usual place:
//
//	Linux    user   $XDG_STATE_HOME/ferry/ferry.log (default ~/.local/state)
//	         system /var/log/ferry/ferry.log
//	macOS    user   ~/Library/Logs/ferry/ferry.log
//	         system /Library/Logs/ferry/ferry.log
//	Windows  user   %LOCALAPPDATA%\ferry\logs\ferry.log
//	         system %ProgramData%\ferry\logs\ferry.log
//
// getenv looks up the environment and userHome is the user's home
// directory (used only where the place is under it).
func LogPath(goos string, mode Mode, getenv func(string) string, userHome string) (string, error) {
	needHome := func(parts ...string) (string, error) {
		if !filepath.IsAbs(userHome) {
			return "", fmt.Errorf("log file: the home directory %q is not an absolute path", userHome)
		}
		return filepath.Join(append([]string{userHome}, parts...)...), nil
	}
	switch {
	case goos == "windows":
		v := "LOCALAPPDATA"
		if mode == System {
			v = "ProgramData"
		}
		base := getenv(v)
		if !windowsAbs(base) {
			return "", fmt.Errorf("log file: %%%s%% is %q, not an absolute path", v, base)
		}
		return strings.TrimRight(base, `\`) + `\ferry\logs\` + LogName, nil
	case goos == "darwin" && mode == System:
		return "/Library/Logs/ferry/" + LogName, nil
	case goos == "darwin":
		return needHome("Library", "Logs", "ferry", LogName)
	case mode == System:
		return "/var/log/ferry/" + LogName, nil
	}
	// The XDG base directory spec: a relative value is to be ignored.
	if state := getenv("XDG_STATE_HOME"); filepath.IsAbs(state) {
		return filepath.Join(state, "ferry", LogName), nil
	}
	return needHome(".local", "state", "ferry", LogName)
}

// windowsAbs tells whether p is an absolute Windows path (C:\x or \\host\share).
func windowsAbs(p string) bool {
	if strings.HasPrefix(p, `\\`) {
		return len(p) > 2
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		(p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z')
}

// HostLogPath is LogPath on this machine.
func HostLogPath(mode Mode) (string, error) {
	home, _ := os.UserHomeDir() // LogPath says so where it needs one
	return LogPath(runtime.GOOS, mode, os.Getenv, home)
}
