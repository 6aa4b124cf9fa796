package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// APIKeyFile is the API key's file name inside the home directory.
const APIKeyFile = "apikey"

const (
	apiKeyBytes  = 32
	minAPIKeyLen = 16
	maxAPIKeyLen = 256
)

// ReadAPIKey reads HOME/apikey. A missing file is an error matching
// fs.ErrNotExist: no daemon has run with this home.
func ReadAPIKey(home string) (string, error) {
	name := filepath.Join(home, APIKeyFile)
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("read API key: %w", err)
	}
	key := strings.TrimSpace(string(data))
	if len(key) < minAPIKeyLen || len(key) > maxAPIKeyLen || strings.IndexFunc(key, notKeyRune) >= 0 {
		return "", fmt.Errorf("API key in %s is malformed; delete the file and restart the daemon to make a new one", name)
	}
	return key, nil
}

func notKeyRune(r rune) bool { return r <= ' ' || r > '~' }

// LoadOrCreateAPIKey reads HOME/apikey, creating it (32 random bytes in hex,
// mode 0600) if it does not exist. Two processes racing to create it end up
// with the same key.
func LoadOrCreateAPIKey(home string) (string, error) {
	key, err := ReadAPIKey(home)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	raw := make([]byte, apiKeyBytes)
	rand.Read(raw)
	key = hex.EncodeToString(raw)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", fmt.Errorf("create API key: %w", err)
	}
	won, err := createExclusive(filepath.Join(home, APIKeyFile), []byte(key+"\n"))
	if err != nil {
		return "", fmt.Errorf("create API key: %w", err)
	}
	if !won {
		return ReadAPIKey(home)
	}
	return key, nil
}

// createExclusive writes a complete file at name unless one already exists,
// and reports whether it did. The data goes to a temporary file first and is
// then hard-linked into place, so no reader ever sees a partial key.
func createExclusive(name string, data []byte) (bool, error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.Write(data)
	serr := f.Sync()
	if err := errors.Join(werr, serr, f.Close()); err != nil {
		return false, err
	}
	err = os.Link(tmp, name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	}
	// No hard links on this file system: fall back to a rename.
	if err := os.Rename(tmp, name); err != nil {
		return false, err
	}
	return true, nil
}
