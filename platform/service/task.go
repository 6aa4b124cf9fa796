package service

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"github.com/kardianos/service"
)

// backend is what a Controller drives: the service library's service, or a
// scheduled task for a Windows user's service.
type backend interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Status() (service.Status, error)
}

// task is a Windows user's service: a scheduled task started at that
// user's logon, run with the user's own rights. Windows services run as a
// service account and need an administrator to install, so a user's ferry
// is a task instead; schtasks manages it.
type task struct {
	name string
	doc  string // the task's XML definition
	// schtasks runs schtasks.exe with args and returns its output; an exit
	// status other than 0 is an error with an ExitCode method.
	schtasks func(args ...string) ([]byte, error)
}

func newTask(cfg Config, userID string) *task {
	return &task{name: cfg.Name, doc: TaskXML(cfg, userID), schtasks: runSchtasks}
}

func runSchtasks(args ...string) ([]byte, error) {
	out, err := exec.Command("schtasks.exe", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("schtasks %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Install registers the task from its XML, which schtasks reads as UTF-16.
func (t *task) Install() error {
	f, err := os.CreateTemp("", "ferry-task-*.xml")
	if err != nil {
		return fmt.Errorf("task definition: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(utf16LE(t.doc))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("task definition: %w", err)
	}
	_, err = t.schtasks("/Create", "/TN", t.name, "/XML", filepath.Clean(f.Name()))
	return err
}

func (t *task) Uninstall() error { _, err := t.schtasks("/Delete", "/TN", t.name, "/F"); return err }
func (t *task) Start() error     { _, err := t.schtasks("/Run", "/TN", t.name); return err }
func (t *task) Stop() error      { _, err := t.schtasks("/End", "/TN", t.name); return err }

// Status reads the task's state from `schtasks /Query`: a task it cannot
// find is not installed. (schtasks words the state in the system's
// language; a state other than "Running" reads as stopped.)
func (t *task) Status() (service.Status, error) {
	out, err := t.schtasks("/Query", "/TN", t.name, "/FO", "CSV", "/NH")
	var exit interface{ ExitCode() int }
	if errors.As(err, &exit) {
		return service.StatusUnknown, service.ErrNotInstalled
	}
	if err != nil {
		return service.StatusUnknown, err
	}
	rec, err := csv.NewReader(strings.NewReader(strings.TrimSpace(string(out)))).Read()
	if err != nil || len(rec) < 3 {
		return service.StatusUnknown, fmt.Errorf("schtasks /Query printed %q", out)
	}
	if strings.TrimSpace(rec[len(rec)-1]) == "Running" {
		return service.StatusRunning, nil
	}
	return service.StatusStopped, nil
}

// TaskXML is the Task Scheduler definition of cfg's task for the user
// userID ("DOMAIN\name"): started at that user's logon with the user's
// rights, without a time limit, on battery too, one instance at a time,
// and restarted (every minute, Task Scheduler's shortest) if it fails.
func TaskXML(cfg Config, userID string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>ferry folder sync</Description>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
`)
	fmt.Fprintf(&b, "      <UserId>%s</UserId>\n", xmlText(userID))
	b.WriteString(`    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
`)
	fmt.Fprintf(&b, "      <UserId>%s</UserId>\n", xmlText(userID))
	b.WriteString(`      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
`)
	fmt.Fprintf(&b, "      <Command>%s</Command>\n", xmlText(cfg.Executable))
	fmt.Fprintf(&b, "      <Arguments>%s</Arguments>\n", xmlText(windowsCommandLine(cfg.Args())))
	b.WriteString("    </Exec>\n  </Actions>\n</Task>\n")
	return b.String()
}

// windowsCommandLine joins args into a command line that the C runtime's
// parsing (CommandLineToArgvW) splits back into args, as syscall.EscapeArg
// does on Windows.
func windowsCommandLine(args []string) string {
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = windowsArg(a)
	}
	return strings.Join(words, " ")
}

func windowsArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
		case '"':
			// Backslashes before a quote are doubled, and the quote escaped.
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	// Backslashes before the closing quote are doubled.
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}

// utf16LE encodes s as UTF-16, little-endian, after a byte-order mark.
func utf16LE(s string) []byte {
	units := utf16.Encode([]rune("\ufeff" + s))
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}
