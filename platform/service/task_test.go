package service

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/kardianos/service"
)

// splitWindows splits a command line as CommandLineToArgvW does for the
// arguments after the program name.
func splitWindows(s string) []string {
	var args []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				w.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					w.WriteByte('"')
					i++
				}
			} else {
				w.WriteString(strings.Repeat(`\`, n))
			}
			inWord = true
			continue
		case c == '"':
			quoted = !quoted
			inWord = true
		case (c == ' ' || c == '\t') && !quoted:
			if inWord {
				args = append(args, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
		i++
	}
	if inWord {
		args = append(args, w.String())
	}
	return args
}

func TestWindowsCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{"--home", `C:\Users\ana\AppData\Roaming\ferry`, "serve"},
		{"--home", `C:\Users\Ana Lopez\ferry`, "serve", "--log-file", `C:\Users\Ana Lopez\AppData\Local\ferry\logs\ferry.log`},
		{`C:\dir with space\`, `a"b`, `a\"b`, `\\server\share\`, ""},
	} {
		line := windowsCommandLine(args)
		if got := splitWindows(line); !slices.Equal(got, args) {
			t.Errorf("%q splits into %q, want %q", line, got, args)
		}
	}
	if got := windowsArg(`C:\Program Files\ferry\`); got != `"C:\Program Files\ferry\\"` {
		t.Errorf("trailing backslash: %s", got)
	}
}

func FuzzWindowsArg(f *testing.F) {
	for _, s := range []string{"", "plain", "a b", `q"uo\te`, `\\`, `end\`, `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := splitWindows(windowsCommandLine([]string{"serve", s, "x"})); !slices.Equal(got, []string{"serve", s, "x"}) {
			t.Fatalf("%q comes back as %q", s, got)
		}
	})
}

func TestTaskXML(t *testing.T) {
	cfg := Config{Name: "ferry", Executable: `C:\Program Files\ferry\ferry.exe`, Home: `C:\Users\ana\AppData\Roaming\ferry`,
		LogFile: `C:\Users\ana\AppData\Local\ferry\logs\ferry.log`}
	doc := TaskXML(cfg, `PC\ana & co`)
	var task struct {
		Trigger   string `xml:"Triggers>LogonTrigger>UserId"`
		Principal struct {
			UserID    string `xml:"UserId"`
			LogonType string
			RunLevel  string
		} `xml:"Principals>Principal"`
		Settings struct {
			MultipleInstancesPolicy string
			ExecutionTimeLimit      string
			StopIfGoingOnBatteries  bool
			Restart                 string `xml:"RestartOnFailure>Interval"`
		}
		Command   string `xml:"Actions>Exec>Command"`
		Arguments string `xml:"Actions>Exec>Arguments"`
	}
	// Go's decoder does not convert encodings: read the UTF-8 text as is.
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	if err := dec.Decode(&task); err != nil {
		t.Fatalf("task XML: %v\n%s", err, doc)
	}
	if task.Trigger != `PC\ana & co` || task.Principal.UserID != task.Trigger {
		t.Errorf("runs at the logon of %q as %q, want the user", task.Trigger, task.Principal.UserID)
	}
	if task.Principal.LogonType != "InteractiveToken" || task.Principal.RunLevel != "LeastPrivilege" {
		t.Errorf("principal %+v: want the user's own token and rights", task.Principal)
	}
	if s := task.Settings; s.MultipleInstancesPolicy != "IgnoreNew" || s.ExecutionTimeLimit != "PT0S" || s.StopIfGoingOnBatteries || s.Restart != "PT1M" {
		t.Errorf("settings %+v", s)
	}
	if task.Command != cfg.Executable {
		t.Errorf("command %q", task.Command)
	}
	if got := splitWindows(task.Arguments); !slices.Equal(got, cfg.Args()) {
		t.Errorf("arguments %q run %q, want %q", task.Arguments, got, cfg.Args())
	}
}

// exitError is what the fake schtasks returns for a non-zero exit.
type exitError int

func (e exitError) Error() string { return "exit status " + string(rune('0'+e)) }
func (e exitError) ExitCode() int { return int(e) }

// fakeSchtasks records calls and answers /Query with state ("" for no task).
type fakeSchtasks struct {
	calls []string
	state string
	xml   []byte
}

func (f *fakeSchtasks) run(args ...string) ([]byte, error) {
	f.calls = append(f.calls, strings.Join(args, " "))
	switch args[0] {
	case "/Query":
		if f.state == "" {
			return []byte("ERROR: The system cannot find the file specified.\r\n"), exitError(1)
		}
		return []byte(`"\ferry","N/A","` + f.state + `"` + "\r\n"), nil
	case "/Create":
		data, err := os.ReadFile(args[len(args)-1])
		f.xml = data
		f.state = "Ready"
		return nil, err
	case "/Run":
		f.state = "Running"
	case "/End":
		f.state = "Ready"
	case "/Delete":
		f.state = ""
	}
	return nil, nil
}

func TestTaskLifecycle(t *testing.T) {
	cfg := Config{Name: "ferry", Executable: `C:\ferry.exe`, Home: `C:\h`}
	f := &fakeSchtasks{}
	tk := newTask(cfg, `PC\ana`)
	tk.schtasks = f.run
	if _, err := tk.Status(); !errors.Is(err, service.ErrNotInstalled) {
		t.Fatalf("status of a missing task: %v", err)
	}
	if err := tk.Install(); err != nil {
		t.Fatal(err)
	}
	// schtasks reads the definition as UTF-16 with a byte-order mark.
	if len(f.xml) < 2 || f.xml[0] != 0xff || f.xml[1] != 0xfe {
		t.Fatalf("definition starts % x, want a UTF-16LE mark", f.xml[:min(len(f.xml), 4)])
	}
	units := make([]uint16, len(f.xml)/2)
	for i := range units {
		units[i] = uint16(f.xml[2*i]) | uint16(f.xml[2*i+1])<<8
	}
	if got := string(utf16.Decode(units[1:])); got != tk.doc {
		t.Fatalf("definition written differs from TaskXML:\n%s", got)
	}
	for _, step := range []struct {
		do   func() error
		want service.Status
	}{{func() error { return nil }, service.StatusStopped}, {tk.Start, service.StatusRunning}, {tk.Stop, service.StatusStopped}} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		if st, err := tk.Status(); err != nil || st != step.want {
			t.Fatalf("status %v, %v; want %v", st, err, step.want)
		}
	}
	if err := tk.Uninstall(); err != nil {
		t.Fatal(err)
	}
	want := []string{"/Query /TN ferry /FO CSV /NH", "/Create /TN ferry /XML", "/Query /TN ferry /FO CSV /NH", "/Run /TN ferry",
		"/Query /TN ferry /FO CSV /NH", "/End /TN ferry", "/Query /TN ferry /FO CSV /NH", "/Delete /TN ferry /F"}
	if len(f.calls) != len(want) {
		t.Fatalf("schtasks calls %q", f.calls)
	}
	for i, c := range f.calls {
		if !strings.HasPrefix(c, want[i]) {
			t.Errorf("call %d: schtasks %s, want %s", i, c, want[i])
		}
	}
	f.state = "garbage"
	f.calls = nil
	tk.schtasks = func(...string) ([]byte, error) { return []byte("no csv here"), nil }
	if _, err := tk.Status(); err == nil {
		t.Error("unreadable /Query output accepted")
	}
}
