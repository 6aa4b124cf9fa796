package web_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"ferry/web"
)

func TestLoadOrCreateAPIKey(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if _, err := web.ReadAPIKey(home); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadAPIKey before creation = %v, want fs.ErrNotExist", err)
	}
	key, err := web.LoadOrCreateAPIKey(home)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(key) {
		t.Fatalf("key = %q, want 64 hex digits", key)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(filepath.Join(home, web.APIKeyFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode = %v, %v", st.Mode(), err)
		}
	}
	again, err := web.LoadOrCreateAPIKey(home)
	if err != nil || again != key {
		t.Fatalf("second call = %q, %v; want %q", again, err, key)
	}
	if read, err := web.ReadAPIKey(home); err != nil || read != key {
		t.Fatalf("ReadAPIKey = %q, %v", read, err)
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 {
		t.Fatalf("home holds %v, want only the key", entries)
	}
}

func TestAPIKeyRace(t *testing.T) {
	home := t.TempDir()
	keys := make([]string, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := web.LoadOrCreateAPIKey(home)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("racing creators got different keys: %q", keys)
		}
	}
}

func TestReadAPIKeyMalformed(t *testing.T) {
	for _, content := range []string{"", "short", "has a space in the middle of it", strings.Repeat("k", 300)} {
		home := t.TempDir()
		if err := os.WriteFile(filepath.Join(home, web.APIKeyFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := web.LoadOrCreateAPIKey(home); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("key %q: error %v, want malformed", content, err)
		}
	}
}
