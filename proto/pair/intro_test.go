package pair_test

import (
	"fmt"
	"strings"
	"testing"

	"ferry/proto/pair"
)

func TestIntroValidate(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	folders := func(n int) []pair.Folder {
		out := make([]pair.Folder, n)
		for i := range out {
			out[i] = pair.Folder{ID: fmt.Sprint("f", i)}
		}
		return out
	}
	tests := []struct {
		name string
		in   pair.Intro
		bad  string // "" when valid; else part of the error
	}{
		{"empty", pair.Intro{}, ""},
		{"typical", offererIntro, ""},
		{"max name", pair.Intro{Name: strings.Repeat("é", pair.MaxNameLen/2)}, ""},
		{"long name", pair.Intro{Name: strings.Repeat("x", pair.MaxNameLen+1)}, "name of 65 bytes"},
		{"name not UTF-8", pair.Intro{Name: "a\xffb"}, "name not valid UTF-8"},
		{"name with newline", pair.Intro{Name: "a\nb"}, "control character"},
		{"unspecified hosts", pair.Intro{Addrs: []string{":22000", "0.0.0.0:1", "[::]:65535", "host.example:80"}}, ""},
		{"max addrs", pair.Intro{Addrs: many(pair.MaxAddrs, func(i int) string { return fmt.Sprint(":", 1000+i) })}, ""},
		{"too many addrs", pair.Intro{Addrs: many(pair.MaxAddrs+1, func(i int) string { return fmt.Sprint(":", 1000+i) })}, "17 addresses"},
		{"no port", pair.Intro{Addrs: []string{"10.0.0.1"}}, "not host:port"},
		{"port zero", pair.Intro{Addrs: []string{"10.0.0.1:0"}}, "port is not in 1-65535"},
		{"port too big", pair.Intro{Addrs: []string{"10.0.0.1:65536"}}, "port is not in 1-65535"},
		{"port name", pair.Intro{Addrs: []string{"10.0.0.1:http"}}, "port is not in 1-65535"},
		{"space in host", pair.Intro{Addrs: []string{"a b:1"}}, "host has a space"},
		{"long addr", pair.Intro{Addrs: []string{strings.Repeat("a", pair.MaxAddrLen) + ":1"}}, "bytes, at most 255"},
		{"max folders", pair.Intro{Folders: folders(pair.MaxFolders)}, ""},
		{"too many folders", pair.Intro{Folders: folders(pair.MaxFolders + 1)}, "257 folders"},
		{"empty folder ID", pair.Intro{Folders: []pair.Folder{{Label: "x"}}}, "empty ID"},
		{"long folder ID", pair.Intro{Folders: []pair.Folder{{ID: strings.Repeat("i", pair.MaxFolderIDLen+1)}}}, "ID of 65 bytes"},
		{"control in folder ID", pair.Intro{Folders: []pair.Folder{{ID: "a\x00"}}}, "control character"},
		{"folder ID not UTF-8", pair.Intro{Folders: []pair.Folder{{ID: "\xc3"}}}, "not valid UTF-8"},
		{"long label", pair.Intro{Folders: []pair.Folder{{ID: "a", Label: strings.Repeat("l", pair.MaxLabelLen+1)}}}, "label of 129 bytes"},
		{"duplicate folder", pair.Intro{Folders: []pair.Folder{{ID: "a"}, {ID: "b"}, {ID: "a"}}}, `folder "a" listed twice`},
	}
	for _, tt := range tests {
		err := tt.in.Validate()
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.bad)
		}
	}
}
