//go:build unix

package platform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyPermissions(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if _, _, err := LoadOrCreateKey(home); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{home: 0o700, filepath.Join(home, "key"): 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %o (%v)", p, fi.Mode().Perm(), want, err)
		}
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		os.Chmod(filepath.Join(home, "key"), mode)
		_, _, err := LoadOrCreateKey(home)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %o: err = %v, want refusal", mode, err)
		}
	}
	os.Chmod(filepath.Join(home, "key"), 0o400)
	if _, _, err := LoadOrCreateKey(home); err != nil {
		t.Errorf("mode 0400 refused: %v", err)
	}
}
