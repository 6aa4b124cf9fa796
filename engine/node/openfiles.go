package node

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"ferry/platform"
)

const (
	// maxOpenFiles bounds the files kept open for serving blocks.
	maxOpenFiles = 64
	// openFileIdle is how long a file no peer reads from stays open.
	openFileIdle = 5 * time.Second
)

// openFiles keeps the files that peers read blocks from open between
// requests: a large file is asked for in thousands of blocks, and opening
// it for each one costs more than reading the block. A file's entry is
// dropped as soon as a new local version of its name is recorded, so a
// replaced file is not read through its old handle for longer than it
// takes the change to be found; the handle then still gives the old
// content, which is what the old version's block hashes describe.
type openFiles struct {
	fs  *platform.Folder
	now func() time.Time

	mu    sync.Mutex
	files map[string]*openFile
}

type openFile struct {
	f    *os.File
	used time.Time
}

func newOpenFiles(fs *platform.Folder, now func() time.Time) *openFiles {
	return &openFiles{fs: fs, now: now, files: make(map[string]*openFile)}
}

// readAt reads len(buf) bytes at off of the regular file name, through a
// kept handle when there is one.
func (c *openFiles) readAt(name string, buf []byte, off int64) error {
	for range 2 {
		f, err := c.get(name)
		if err != nil {
			return err
		}
		_, err = f.ReadAt(buf, off)
		if errors.Is(err, os.ErrClosed) {
			continue // evicted meanwhile: open it again
		}
		if err != nil {
			return fmt.Errorf("read %s at %d: %w", name, off, err)
		}
		return nil
	}
	return fmt.Errorf("read %s at %d: %w", name, off, os.ErrClosed)
}

// get returns the kept handle of name, opening it if needed.
func (c *openFiles) get(name string) (*os.File, error) {
	now := c.now()
	c.mu.Lock()
	if e := c.files[name]; e != nil {
		e.used = now
		c.mu.Unlock()
		return e.f, nil
	}
	c.mu.Unlock()
	f, err := c.fs.Open(name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.files[name]; e != nil {
		// Opened by another request meanwhile: keep one.
		f.Close()
		e.used = now
		return e.f, nil
	}
	c.sweepLocked(now)
	if len(c.files) >= maxOpenFiles {
		c.evictOldestLocked()
	}
	c.files[name] = &openFile{f: f, used: now}
	return f, nil
}

// forget closes the kept handle of name, if any.
func (c *openFiles) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.files[name]; e != nil {
		e.f.Close()
		delete(c.files, name)
	}
}

// sweep closes the handles no request used for openFileIdle.
func (c *openFiles) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked(c.now())
}

func (c *openFiles) sweepLocked(now time.Time) {
	for name, e := range c.files {
		if now.Sub(e.used) >= openFileIdle {
			e.f.Close()
			delete(c.files, name)
		}
	}
}

func (c *openFiles) evictOldestLocked() {
	var oldest string
	var at time.Time
	for name, e := range c.files {
		if oldest == "" || e.used.Before(at) {
			oldest, at = name, e.used
		}
	}
	if e := c.files[oldest]; e != nil {
		e.f.Close()
		delete(c.files, oldest)
	}
}

// close closes every kept handle.
func (c *openFiles) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, e := range c.files {
		e.f.Close()
		delete(c.files, name)
	}
}

// size is how many handles are kept.
func (c *openFiles) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.files)
}
