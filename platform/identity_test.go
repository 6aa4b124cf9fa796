package platform

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	home := filepath.Join(t.TempDir(), "new", "home")
	priv, pub, err := LoadOrCreateKey(home)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil || !bytes.Equal(k.PublicKey().Bytes(), pub[:]) {
		t.Fatalf("public key does not match private key (%v)", err)
	}
	data, err := os.ReadFile(filepath.Join(home, "key"))
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(priv[:]) + "\n"; string(data) != want {
		t.Errorf("key file = %q, want %q", data, want)
	}
	priv2, pub2, err := LoadOrCreateKey(home)
	if err != nil || priv2 != priv || pub2 != pub {
		t.Errorf("reload gave a different key (%v)", err)
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 {
		t.Errorf("home holds %d entries, want only the key", len(entries))
	}
}

func TestLoadKeyCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"not base64": "!!!\n",
		"short":      base64.StdEncoding.EncodeToString(make([]byte, 31)) + "\n",
		"empty":      "",
	} {
		home := t.TempDir()
		os.WriteFile(filepath.Join(home, "key"), []byte(content), 0o600)
		_, _, err := LoadOrCreateKey(home)
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("%s: err = %v, want corrupt", name, err)
		}
		if got, _ := os.ReadFile(filepath.Join(home, "key")); string(got) != content {
			t.Errorf("%s: corrupt key file was overwritten", name)
		}
	}
}

func FuzzDecodeKey(f *testing.F) {
	f.Add([]byte(base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := decodeKey("key", data)
		if err != nil {
			return
		}
		again, err := decodeKey("key", encodeKey(k))
		if err != nil || !bytes.Equal(again.Bytes(), k.Bytes()) {
			t.Errorf("round trip of %q failed: %v", data, err)
		}
	})
}

func TestDefaultHome(t *testing.T) {
	t.Setenv("FERRY_HOME", "/some/where")
	if h, err := DefaultHome(); err != nil || h != "/some/where" {
		t.Errorf("DefaultHome = %q, %v", h, err)
	}
	t.Setenv("FERRY_HOME", "")
	cfg, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	if h, err := DefaultHome(); err != nil || h != filepath.Join(cfg, "ferry") {
		t.Errorf("DefaultHome = %q, %v; want %s", h, err, filepath.Join(cfg, "ferry"))
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFileAtomic(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, dir, "config.json"); got != content {
			t.Errorf("content = %q, want %q", got, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want 1 (temp left behind?)", len(entries))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), nil, 0o600); err == nil {
		t.Error("write into a missing dir succeeded")
	}
}
