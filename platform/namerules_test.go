package platform

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestNameProblem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		windows string // part of the reason on Windows, "" if it can be stored
	}{
		{"a.txt", ""},
		{"dir/sub/file", ""},
		{"caf\u00e9.txt", ""},
		{".hidden", ""},
		{"a.b.c", ""},
		{"CONSOLE", ""},
		{"icon.png", ""},
		{"COM10", ""},
		{"COM0", ""},
		{"LPT", ""},
		{"NULL.txt", ""},
		{"x/con-tents", ""},
		{"a b", ""},
		{" leading", ""},
		{"conın$", ""}, // dotless ı is not ASCII I
		{"CON", "reserved on Windows"},
		{"con", "reserved on Windows"},
		{"CON.txt", "reserved on Windows"},
		{"nul.tar.gz", "reserved on Windows"},
		{"Aux", "reserved on Windows"},
		{"prn.", "ends with a dot"},
		{"NUL .txt", "reserved on Windows"},
		{"com1", "reserved on Windows"},
		{"LPT9.log", "reserved on Windows"},
		{"COM\u00b9", "reserved on Windows"},
		{"lpt\u00b3.x", "reserved on Windows"},
		{"CONIN$", "reserved on Windows"},
		{"conout$.txt", "reserved on Windows"},
		{"docs/CON/readme", `"CON" is a device name reserved on Windows`},
		{"a<b", `contains "<"`},
		{"a>b", `contains ">"`},
		{"a:b", `contains ":"`},
		{`say "hi"`, `contains "\""`},
		{"a|b", `contains "|"`},
		{"what?", `contains "?"`},
		{"*.txt", `contains "*"`},
		{"dir:x/file", `"dir:x" contains ":"`},
		{"tab\there", "control character"},
		{"x/\x01", "control character"},
		{"notes.", "ends with a dot"},
		{"notes ", "ends with a space"},
		{"dir./file", `"dir." ends with a dot`},
		{"dir /file", `"dir " ends with a space`},
		{"...", "ends with a dot"},
	} {
		got := nameProblem("windows", tc.name)
		if tc.windows == "" && got != "" || !strings.Contains(got, tc.windows) {
			t.Errorf("windows: nameProblem(%q) = %q, want %q", tc.name, got, tc.windows)
		}
		for _, goos := range []string{"linux", "darwin", "freebsd"} {
			if got := nameProblem(goos, tc.name); got != "" {
				t.Errorf("%s: nameProblem(%q) = %q, want none", goos, tc.name, got)
			}
		}
	}
}

func TestNameFold(t *testing.T) {
	for _, tc := range []struct {
		a, b                  string
		windows, darwin, ci   bool // the same name on Windows, macOS, Linux ignoring case
		caseSensitiveSameName bool
	}{
		{a: "a.txt", b: "a.txt", windows: true, darwin: true, ci: true, caseSensitiveSameName: true},
		{a: "a.txt", b: "A.TXT", windows: true, darwin: true, ci: true},
		{a: "Docs/x", b: "docs/x", windows: true, darwin: true, ci: true},
		{a: "docs/a", b: "docs/b"},
		{a: "\u00e9t\u00e9", b: "\u00c9T\u00c9", windows: true, darwin: true, ci: true},
		{a: "\u00c5", b: "\u00e5", windows: true, darwin: true, ci: true},
		{a: "stra\u00dfe", b: "STRASSE", darwin: true, ci: true}, // NTFS maps each character alone
		{a: "\u03a3", b: "\u03c3", windows: true, darwin: true, ci: true},
		{a: "a", b: "b"},
	} {
		for _, r := range []struct {
			rules NameRules
			same  bool
		}{
			{NameRulesFor("windows", true), tc.windows},
			{NameRulesFor("darwin", true), tc.darwin},
			{NameRulesFor("linux", true), tc.ci},
			{NameRulesFor("linux", false), tc.caseSensitiveSameName},
			{NameRulesFor("darwin", false), tc.caseSensitiveSameName},
			{NameRules{}, tc.caseSensitiveSameName},
		} {
			if same := r.rules.Fold(tc.a) == r.rules.Fold(tc.b); same != r.same {
				t.Errorf("%+v: %q and %q the same name: %t, want %t", r.rules, tc.a, tc.b, same, r.same)
			}
		}
	}
}

func TestLocalNameRules(t *testing.T) {
	r := LocalNameRules()
	want := runtime.GOOS == "windows" || runtime.GOOS == "darwin"
	if r.CaseInsensitive() != want {
		t.Errorf("LocalNameRules().CaseInsensitive() = %t on %s", r.CaseInsensitive(), runtime.GOOS)
	}
	if got := r.Problem("CON.txt"); (got != "") != (runtime.GOOS == "windows") {
		t.Errorf("LocalNameRules().Problem(CON.txt) = %q on %s", got, runtime.GOOS)
	}
}

// TestFolderNameRules probes the folder's own file system: the test's temp
// directory keeps case apart on Linux, and a directory named like the
// marker in another case does not fool the probe.
func TestFolderNameRules(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the temp directory's file system may ignore case here")
	}
	f, dir := newFolder(t)
	if f.NameRules().CaseInsensitive() {
		t.Fatal("a folder on a case-sensitive file system probed as ignoring case")
	}
	if err := os.Mkdir(filepath.Join(dir, ".FERRY"), 0o700); err != nil {
		t.Fatal(err)
	}
	if f.NameRules().CaseInsensitive() {
		t.Error("a second marker-like directory made the folder look case-insensitive")
	}
	if got := f.NameRules().Problem("CON.txt"); got != "" {
		t.Errorf("Problem(CON.txt) = %q on Linux", got)
	}
}

func TestIsNameRefused(t *testing.T) {
	dir := t.TempDir()
	_, err := os.Create(filepath.Join(dir, strings.Repeat("n", 300)))
	if err == nil || !IsNameRefused(err) {
		t.Errorf("IsNameRefused(%v) = false for a name too long for the file system", err)
	}
	_, err = os.Open(filepath.Join(dir, "missing"))
	if err == nil || IsNameRefused(err) {
		t.Errorf("IsNameRefused(%v) = true for a missing file", err)
	}
	if IsNameRefused(nil) {
		t.Error("IsNameRefused(nil) = true")
	}
}
