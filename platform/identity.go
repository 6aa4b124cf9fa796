package platform

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// keyFile is the name of the device key in the home directory.
const keyFile = "key"

// LoadOrCreateKey returns this device's X25519 key pair, stored in
// home/key. The file holds the 32-byte private key in standard padded
// base64 followed by a newline, mode 0600. If it is missing, a new key is
// generated and stored, creating home (0700) if needed. A key file that
// group or others may access, or that does not decode to a key, is refused.
func LoadOrCreateKey(home string) (priv, pub [32]byte, err error) {
	path := filepath.Join(home, keyFile)
	k, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err = createKey(home, path)
	}
	if err != nil {
		return priv, pub, err
	}
	copy(priv[:], k.Bytes())
	copy(pub[:], k.PublicKey().Bytes())
	return priv, pub, nil
}

// readKey loads the key file at path, checking its permissions.
func readKey(path string) (*ecdh.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if !privateEnough(fi.Mode()) {
		return nil, fmt.Errorf("key file %s has mode %04o and may be read by others: run chmod 600 %s if it was not exposed", path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	return decodeKey(path, data)
}

// decodeKey parses the content of a key file.
func decodeKey(path string, data []byte) (*ecdh.PrivateKey, error) {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err == nil && len(raw) != 32 {
		err = fmt.Errorf("%d bytes, want 32", len(raw))
	}
	if err != nil {
		return nil, fmt.Errorf("key file %s is corrupt (%v): restore it from a backup, or move it away to create a new device identity", path, err)
	}
	return ecdh.X25519().NewPrivateKey(raw)
}

// encodeKey returns the content of a key file for k.
func encodeKey(k *ecdh.PrivateKey) []byte {
	return []byte(base64.StdEncoding.EncodeToString(k.Bytes()) + "\n")
}

// createKey generates a key and stores it at path without replacing a key
// file that appeared meanwhile; if one did, that key is returned.
func createKey(home, path string) (*ecdh.PrivateKey, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("create home %s: %w", home, err)
	}
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	tmp, err := os.CreateTemp(home, "."+keyFile+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("store key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSyncClose(tmp, encodeKey(k), 0o600); err != nil {
		return nil, fmt.Errorf("store key: %w", err)
	}
	err = os.Link(tmp.Name(), path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// No hard links on this filesystem: check, then rename.
		if _, serr := os.Lstat(path); serr == nil {
			err = fs.ErrExist
		} else {
			err = os.Rename(tmp.Name(), path)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return readKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("store key %s: %w", path, err)
	}
	if err := syncPath(home); err != nil {
		return nil, fmt.Errorf("store key %s: sync directory: %w", path, err)
	}
	return k, nil
}
