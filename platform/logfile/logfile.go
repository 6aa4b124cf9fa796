package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Defaults of [Options].
const (
	DefaultMaxMiB  = 10 // size cap of one file, in MiB
	DefaultBackups = 3  // old files kept
)

// Options shape a log file; the zero value means the defaults.
type Options struct {
	MaxMiB  int // size cap of one file in MiB; DefaultMaxMiB if 0
	Backups int // old files kept; DefaultBackups if 0
}

// maxMode is the most a log file is readable: its owner and its group.
const maxMode fs.FileMode = 0o640

// File is an open log file. Writes are serialized; it is safe for
// concurrent use.
type File struct {
	path string
	mode fs.FileMode
	max  int64
	lj   *lumberjack.Logger

	mu     sync.Mutex
	size   int64 // bytes in the current file, as lumberjack counts them
	opened bool  // lumberjack has the file open
}

// Open opens the log file at path for appending, creating it (0600) and its
// missing directories (0700). It refuses a path that is not a regular file.
func Open(path string, o Options) (*File, error) {
	if o.MaxMiB <= 0 {
		o.MaxMiB = DefaultMaxMiB
	}
	if o.Backups <= 0 {
		o.Backups = DefaultBackups
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("log file %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("log file %s: %w", abs, err)
	}
	mode, size, err := prepare(abs)
	if err != nil {
		return nil, fmt.Errorf("log file %s: %w", abs, err)
	}
	f := &File{
		path: abs, mode: mode, max: int64(o.MaxMiB) << 20, size: size,
		lj: &lumberjack.Logger{Filename: abs, MaxSize: o.MaxMiB, MaxBackups: o.Backups},
	}
	return f, nil
}

// prepare creates the file at path if it is missing, and returns the mode it
// keeps and its size. An existing file loses any bit beyond maxMode.
func prepare(path string) (fs.FileMode, int64, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if err != nil {
			return 0, 0, err
		}
		return 0o600, 0, f.Close()
	}
	if err != nil {
		return 0, 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, 0, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	mode := fi.Mode().Perm()&maxMode | 0o600
	if mode != fi.Mode().Perm() {
		if err := os.Chmod(path, mode); err != nil {
			return 0, 0, err
		}
	}
	return mode, fi.Size(), nil
}

// Path is the log file's absolute path.
func (f *File) Path() string { return f.path }

// Write appends p, rotating first when p would take the file past its cap.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// lumberjack rotates when the write would pass the cap, and creates the
	// new file with the old one's mode less the umask: put the mode back.
	// On its first write it also rotates a file the write would fill.
	after := f.size + int64(len(p))
	rotates := after > f.max || !f.opened && after >= f.max
	n, err := f.lj.Write(p)
	f.opened = f.opened || err == nil
	if rotates && err == nil {
		f.size = 0
		if cerr := os.Chmod(f.path, f.mode); cerr != nil {
			err = fmt.Errorf("log file %s: %w", f.path, cerr)
		}
	}
	f.size += int64(n)
	return n, err
}

// Close closes the file; a later Write opens it again.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = false
	if fi, err := os.Stat(f.path); err == nil {
		f.size = fi.Size()
	}
	return f.lj.Close()
}
