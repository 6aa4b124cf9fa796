package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Path returns the config file's path inside home.
func Path(home string) string { return filepath.Join(home, FileName) }

// Load reads and validates HOME/config.json. A missing file gives the
// defaults; unknown fields are an error so a typo in a hand edit is caught.
func Load(home string) (Config, error) {
	p := Path(home)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := decode(data)
	if err != nil {
		return Config{}, fmt.Errorf("load %s: %w", p, err)
	}
	return c, nil
}

// decode parses and validates one JSON config document.
func decode(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, &kindError{kind: ErrInvalid, msg: err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, invalidf("unexpected data after the config object")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// encode renders c as indented JSON, with empty lists rather than null.
func encode(c Config) ([]byte, error) {
	if c.Devices == nil {
		c.Devices = []Device{}
	}
	if c.Folders == nil {
		c.Folders = []Folder{}
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Save validates c and writes it to HOME/config.json atomically with mode
// 0600, creating home (mode 0700) if needed.
func Save(home string, c Config) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	data, err := encode(c)
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := writeFileAtomic(Path(home), data); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to name, syncs it and
// renames it over name, so a reader sees the old or the new file, never a
// part. The file gets mode 0600.
func writeFileAtomic(name string, data []byte) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. Some systems cannot sync a
// directory; the rename has happened either way, so errors are ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
