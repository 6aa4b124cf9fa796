package service

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites the file with -rewrite.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -rewrite to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

var unitCases = []struct {
	file string
	cfg  Config
}{
	{"user.service", Config{Executable: "/usr/local/bin/ferry", Home: "/home/ana/.config/ferry", LogFile: "/home/ana/.local/state/ferry/ferry.log"}},
	{"system.service", Config{Executable: "/usr/local/bin/ferry", Home: "/var/lib/ferry", Mode: System, LogFile: "/var/log/ferry/ferry.log"}},
	{"quoted.service", Config{Executable: "/opt/my apps/ferry", Home: `/home/ana/50% "sync" $HOME\x`}},
}

func TestUnitFileGolden(t *testing.T) {
	for _, c := range unitCases {
		t.Run(c.file, func(t *testing.T) {
			unit, err := UnitFile(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.file, unit)
			lines := strings.Split(unit, "\n")
			want := "WantedBy=default.target"
			if c.cfg.Mode == System {
				want = "WantedBy=multi-user.target"
			}
			for _, l := range []string{want, "Restart=on-failure", "RestartSec=5"} {
				if !slices.Contains(lines, l) {
					t.Errorf("no line %q in\n%s", l, unit)
				}
			}
			// A system unit runs as ferry's own user; a user unit as its user.
			if runsAs := slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "User=") }); runsAs != (c.cfg.Mode == System) || c.cfg.Mode == System && !slices.Contains(lines, "User=ferry") {
				t.Errorf("unit's User= line is wrong for a %s unit:\n%s", c.cfg.Mode, unit)
			}
			if strings.Contains(unit, "120") {
				t.Errorf("unit mentions 120:\n%s", unit)
			}
			exec := unitValue(t, lines, "ExecStart=")
			got := splitSystemd(t, exec)
			if want := append([]string{c.cfg.Executable}, c.cfg.Args()...); !slices.Equal(got, want) {
				t.Errorf("ExecStart=%s runs %q, want %q", exec, got, want)
			}
		})
	}
}

func unitValue(t *testing.T, lines []string, key string) string {
	t.Helper()
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, key); ok {
			return v
		}
	}
	t.Fatalf("no %s line", key)
	return ""
}

// splitSystemd splits an ExecStart= value as systemd does for the cases
// systemdWord produces: bare words, and double-quoted words with \\ and \"
// escapes; %% and $$ stand for % and $.
func splitSystemd(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		var w strings.Builder
		if s[0] != '"' {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			w.WriteString(s[:end])
			s = s[end:]
		} else {
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
				if i >= len(s) {
					t.Fatalf("dangling escape in %q", s)
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				t.Fatalf("unclosed quote in %q", s)
			}
			s = s[i+1:]
		}
		words = append(words, strings.NewReplacer("%%", "%", "$$", "$").Replace(w.String()))
	}
	return words
}

func FuzzSystemdWord(f *testing.F) {
	for _, s := range []string{"", "plain", "a b", `q"uo\te`, "50%", "$HOME", "a;b", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return // Validate refuses control characters
		}
		cmd := systemdCommand("/bin/ferry", []string{s, "serve"})
		if got := splitSystemd(t, cmd); !slices.Equal(got, []string{"/bin/ferry", s, "serve"}) {
			t.Fatalf("%q splits into %q", cmd, got)
		}
	})
}

func TestLaunchdPlist(t *testing.T) {
	cfg := Config{Executable: "/Applications/ferry app/ferry", Home: "/Users/ana/Library/Application Support/ferry & <co>", LogFile: "/Users/ana/Library/Logs/ferry/ferry.log"}
	plist, err := LaunchdPlist(cfg)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "user.plist", plist)
	p := parsePlist(t, plist)
	if want := append([]string{cfg.Executable}, cfg.Args()...); !slices.Equal(p.Args, want) {
		t.Errorf("ProgramArguments %q, want %q", p.Args, want)
	}
	for _, kv := range [][2]string{{"Label", "ferry"}, {"RunAtLoad", "true"}, {"KeepAlive", "SuccessfulExit=false"},
		{"ThrottleInterval", "5"}, {"StandardErrorPath", cfg.Home + "/service.log"}} {
		if got := p.Values[kv[0]]; got != kv[1] {
			t.Errorf("%s = %q, want %q", kv[0], got, kv[1])
		}
	}
	if _, ok := p.Values["UserName"]; ok {
		t.Errorf("a LaunchAgent names a user: %q", p.Values["UserName"])
	}
	cfg.Mode = System
	if plist, err = LaunchdPlist(cfg); err != nil {
		t.Fatal(err)
	}
	if p := parsePlist(t, plist); p.Values["UserName"] != SystemUser || p.Values["Umask"] != "63" {
		t.Errorf("LaunchDaemon runs as %q with umask %q, want %q and 63 (0077)", p.Values["UserName"], p.Values["Umask"], SystemUser)
	}
}

// plist is the part of a launchd plist the test reads.
type plist struct {
	Args   []string
	Values map[string]string // key → string, bool, integer or "K=V" of a dict
}

func parsePlist(t *testing.T, s string) plist {
	t.Helper()
	var doc struct {
		Dict struct {
			Items []struct {
				XMLName xml.Name
				Text    string   `xml:",chardata"`
				Strings []string `xml:"string"`
				Inner   []struct {
					XMLName xml.Name
					Text    string `xml:",chardata"`
				} `xml:",any"`
			} `xml:",any"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("plist is not XML: %v", err)
	}
	p := plist{Values: map[string]string{}}
	items := doc.Dict.Items
	for i := 0; i+1 < len(items); i += 2 {
		key, v := items[i].Text, items[i+1]
		switch v.XMLName.Local {
		case "array":
			p.Args = v.Strings
		case "true", "false":
			p.Values[key] = v.XMLName.Local
		case "dict":
			p.Values[key] = v.Inner[0].Text + "=" + v.Inner[1].XMLName.Local
		default:
			p.Values[key] = v.Text
		}
	}
	return p
}

func TestValidate(t *testing.T) {
	good := Config{Executable: "/bin/ferry", Home: "/h"}
	cases := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"relative executable", func(c *Config) { c.Executable = "ferry" }, "not an absolute path"},
		{"relative home", func(c *Config) { c.Home = "h" }, "not an absolute path"},
		{"newline", func(c *Config) { c.Home = "/h\nExecStartPre=/bin/evil" }, "control character"},
		{"template", func(c *Config) { c.Home = "/h/{{Name}}" }, `"{{"`},
		{"name", func(c *Config) { c.Name = "fer ry" }, "service name"},
		{"mode", func(c *Config) { c.Mode = 7 }, "mode"},
		{"root", func(c *Config) { c.Mode, c.User = System, "root" }, "does not run as root"},
		{"uid 0", func(c *Config) { c.Mode, c.User = System, "0" }, "does not run as root"},
		{"user name", func(c *Config) { c.Mode, c.User = System, "ana\nExecStartPre=/bin/evil" }, "user name"},
		{"user of a user unit", func(c *Config) { c.User = "ana" }, "--user is for a system-wide one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			_, err := UnitFile(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	cfg := good
	if err := cfg.Validate(); err != nil || cfg.Name != DefaultName || cfg.User != "" {
		t.Fatalf("Validate: %v, name %q, user %q", err, cfg.Name, cfg.User)
	}
	cfg = good
	cfg.Mode = System
	if err := cfg.Validate(); err != nil || cfg.User != SystemUser {
		t.Fatalf("Validate system: %v, user %q; want %q", err, cfg.User, SystemUser)
	}
}
