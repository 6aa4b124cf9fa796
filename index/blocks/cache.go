package blocks

import (
	"container/list"
	"os"
	"path/filepath"
	"sync"
)

// fileCache keeps up to max pack files open for reading, closing the least
// recently used one beyond that. A file in use by a read stays open until
// the read releases it, so the cache can hold more for that long.
type fileCache struct {
	dir string
	max int

	mu    sync.Mutex
	files map[uint64]*openPack
	lru   list.List // of *openPack, most recently used first
}

// openPack is an open pack file and the number of reads using it.
type openPack struct {
	id   uint64
	f    *os.File
	refs int
	elem *list.Element // nil once out of the cache
}

func newFileCache(dir string, max int) *fileCache {
	return &fileCache{dir: dir, max: max, files: make(map[uint64]*openPack)}
}

// acquire returns pack id open for reading; release it after use.
func (c *fileCache) acquire(id uint64) (*openPack, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.files[id]; ok {
		p.refs++
		c.lru.MoveToFront(p.elem)
		return p, nil
	}
	f, err := os.Open(filepath.Join(c.dir, packName(id)))
	if err != nil {
		return nil, err
	}
	p := &openPack{id: id, f: f, refs: 1}
	p.elem = c.lru.PushFront(p)
	c.files[id] = p
	c.trim()
	return p, nil
}

func (c *fileCache) release(p *openPack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p.refs--
	switch {
	case p.refs > 0:
	case p.elem == nil:
		p.f.Close()
	default:
		c.trim()
	}
}

// trim closes unused files, least recently used first, until at most max
// are open.
func (c *fileCache) trim() {
	for e := c.lru.Back(); e != nil && len(c.files) > c.max; {
		prev := e.Prev()
		if p := e.Value.(*openPack); p.refs == 0 {
			c.remove(p)
		}
		e = prev
	}
}

// remove takes p out of the cache; its file is closed now or by its last
// release.
func (c *fileCache) remove(p *openPack) {
	c.lru.Remove(p.elem)
	p.elem = nil
	delete(c.files, p.id)
	if p.refs == 0 {
		p.f.Close()
	}
}

// evict closes pack id if it is open, so that its file can be removed.
func (c *fileCache) evict(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.files[id]; ok {
		c.remove(p)
	}
}

func (c *fileCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.files {
		c.remove(p)
	}
}
