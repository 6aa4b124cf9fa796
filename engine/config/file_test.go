package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestLoadMissingGivesDefaults(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "absent"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load = %+v, want defaults", c)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	c := validConfig(t.TempDir())
	c.Folders[1].ScanInterval = Duration(60e9)
	if err := Save(home, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	must(t, c.Validate())
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Fatalf("home holds %v, want only %s", entries, FileName)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(Path(home))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("mode = %v, %v", st.Mode(), err)
		}
	}
	data, _ := os.ReadFile(Path(home))
	if !bytes.Contains(data, []byte(`"scanInterval": "1m0s"`)) || !bytes.Contains(data, []byte(c.Devices[0].ID.String())) {
		t.Fatalf("unexpected file contents:\n%s", data)
	}
}

func TestSaveRejectsInvalid(t *testing.T) {
	home := t.TempDir()
	c := Default()
	c.GUI = "nowhere"
	if err := Save(home, c); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Save invalid = %v", err)
	}
	if _, err := os.Stat(Path(home)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("invalid config was written: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := map[string]string{
		"unknown field": `{"version":1,"gui":"127.0.0.1:1","scanIntervl":"5s"}`,
		"trailing data": `{"version":1} {}`,
		"not json":      `version = 1`,
		"bad device id": `{"devices":[{"id":"AAAA"}]}`,
		"invalid":       `{"gui":"x"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			home := t.TempDir()
			must(t, os.WriteFile(Path(home), []byte(body), 0o600))
			_, err := Load(home)
			if err == nil || !strings.Contains(err.Error(), Path(home)) {
				t.Fatalf("Load = %v, want an error naming the file", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"name":"n","listen":[":1"],"gui":"127.0.0.1:2","scanInterval":"3s","devices":[],"folders":[{"id":"a","path":"/x","type":"send-only"}]}`))
	f.Add([]byte(`{"maxSend":1000,"maxRecv":5,"limitLAN":true,"devices":[{"id":"AEAAAAA-AAAAAAY-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA-AAAAAAA","maxSend":1}]}`))
	f.Add([]byte(`{"folders":[{"id":"a","path":"/x/../y"},{"id":"b","path":"/y/z"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decode(data)
		if err != nil {
			return
		}
		first, err := encode(c)
		if err != nil {
			t.Fatalf("encode a decoded config: %v", err)
		}
		c2, err := decode(first)
		if err != nil {
			t.Fatalf("decode an encoded config: %v\n%s", err, first)
		}
		second, _ := encode(c2)
		if !bytes.Equal(first, second) {
			t.Fatalf("not stable:\n%s\n%s", first, second)
		}
	})
}

func FuzzDuration(f *testing.F) {
	for _, s := range []string{"10s", "1h2m3.5s", "-1ns", "0", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d Duration
		if d.UnmarshalText([]byte(s)) != nil {
			return
		}
		text, _ := d.MarshalText()
		var d2 Duration
		if err := d2.UnmarshalText(text); err != nil || d2 != d {
			t.Fatalf("%q -> %q -> %v, %v", s, text, d2, err)
		}
	})
}
