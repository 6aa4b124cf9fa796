package service

import (
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"
)

// restartSec is how long systemd and launchd wait before restarting ferry
// after a failure.
const restartSec = 5

// stopTimeoutSec bounds how long systemd waits for ferry to stop before it
// kills it; Run itself gives the daemon StopTimeout.
const stopTimeoutSec = 30

// UnitFile renders cfg's systemd unit: a user unit wanted by default.target
// or a system unit wanted by multi-user.target, restarted 5 s after a
// failure.
func UnitFile(cfg Config) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("[Unit]\nDescription=ferry folder sync\n")
	if cfg.Mode == System {
		// A user manager has no network-online.target to order after.
		b.WriteString("Wants=network-online.target\nAfter=network-online.target\n")
	}
	b.WriteString("\n[Service]\nType=simple\n")
	fmt.Fprintf(&b, "ExecStart=%s\n", systemdCommand(cfg.Executable, cfg.Args()))
	fmt.Fprintf(&b, "Restart=on-failure\nRestartSec=%d\nTimeoutStopSec=%d\n", restartSec, stopTimeoutSec)
	if cfg.Mode == System {
		// Its own user, files private to it, and no way back to root.
		fmt.Fprintf(&b, "User=%s\nUMask=0077\nNoNewPrivileges=yes\n", cfg.User)
	}
	target := "default.target"
	if cfg.Mode == System {
		target = "multi-user.target"
	}
	fmt.Fprintf(&b, "\n[Install]\nWantedBy=%s\n", target)
	return b.String(), nil
}

// systemdCommand is an ExecStart= value running exe with args.
func systemdCommand(exe string, args []string) string {
	words := []string{systemdWord(exe)}
	for _, a := range args {
		words = append(words, systemdWord(a))
	}
	return strings.Join(words, " ")
}

// systemdSpecials keeps systemd from expanding specifiers (%h) and
// environment variables ($HOME) inside a word.
var systemdSpecials = strings.NewReplacer("%", "%%", "$", "$$")

// systemdQuoted escapes what systemd unescapes inside double quotes.
var systemdQuoted = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// systemdWord quotes s as one ExecStart= word when it has a character that
// would split or change it.
func systemdWord(s string) string {
	s = systemdSpecials.Replace(s)
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + systemdQuoted.Replace(s) + `"`
}

// LaunchdPlist renders cfg's launchd property list: loaded at login (user)
// or boot (system), restarted 5 s after a failure, with what ferry prints
// outside its log file (a crash's trace) in service.log in the home
// directory.
func LaunchdPlist(cfg Config) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
`)
	plistKey(&b, "Label", cfg.Name)
	b.WriteString("\t<key>ProgramArguments</key>\n\t<array>\n")
	for _, a := range append([]string{cfg.Executable}, cfg.Args()...) {
		fmt.Fprintf(&b, "\t\t<string>%s</string>\n", xmlText(a))
	}
	b.WriteString("\t</array>\n")
	if cfg.Mode == System {
		plistKey(&b, "UserName", cfg.User)
		b.WriteString("\t<key>Umask</key>\n\t<integer>63</integer>\n") // 0077
	}
	b.WriteString("\t<key>RunAtLoad</key>\n\t<true/>\n")
	// Restart after a failure only, as systemd's Restart=on-failure: a clean
	// stop stays stopped.
	b.WriteString("\t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n")
	fmt.Fprintf(&b, "\t<key>ThrottleInterval</key>\n\t<integer>%d</integer>\n", restartSec)
	log := filepath.Join(cfg.Home, "service.log")
	plistKey(&b, "StandardOutPath", log)
	plistKey(&b, "StandardErrorPath", log)
	b.WriteString("</dict>\n</plist>\n")
	return b.String(), nil
}

func plistKey(b *strings.Builder, key, value string) {
	fmt.Fprintf(b, "\t<key>%s</key>\n\t<string>%s</string>\n", key, xmlText(value))
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder never fail
	return b.String()
}
