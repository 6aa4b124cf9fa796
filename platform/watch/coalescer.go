package watch

import (
	"slices"
	"strings"
	"time"
)

// kind is what an event says about its name.
type kind uint8

const (
	// kindChange: something at the name was created, written, renamed or
	// removed. All of these mean "scan this subtree".
	kindChange kind = iota
	// kindOverflow: events were lost; the name is ignored and the whole
	// folder is pending.
	kindOverflow
)

// coalescer collects event names and decides when they form a batch. It is
// pure: time comes in as an argument, so tests drive it with a fake clock.
// The zero value is not usable; see newCoalescer.
type coalescer struct {
	debounce time.Duration
	maxDelay time.Duration
	maxPaths int

	paths    map[string]struct{} // pending names; "" means the whole folder
	overflow bool
	first    time.Time // first event of the pending batch
	last     time.Time // latest event of the pending batch
}

// newCoalescer returns an empty coalescer using o, which must be valid.
func newCoalescer(o Options) *coalescer {
	return &coalescer{
		debounce: o.Debounce,
		maxDelay: o.MaxDelay,
		maxPaths: o.MaxPaths,
		paths:    make(map[string]struct{}),
	}
}

// empty reports whether nothing is pending.
func (c *coalescer) empty() bool { return len(c.paths) == 0 }

// add records an event of kind k on name at now.
func (c *coalescer) add(name string, k kind, now time.Time) {
	if c.empty() {
		c.first = now
	}
	c.last = now
	if k == kindOverflow {
		c.overflow = true
		name = ""
	}
	if c.covered(name) {
		return
	}
	if name == "" {
		clear(c.paths)
	}
	c.paths[name] = struct{}{}
	if len(c.paths) > 4*c.maxPaths {
		c.compact()
	}
}

// covered reports whether name or one of its ancestors is pending.
func (c *coalescer) covered(name string) bool {
	return c.hasAncestor(name) || c.has(name)
}

// hasAncestor reports whether a proper ancestor of name ("" included) is
// pending.
func (c *coalescer) hasAncestor(name string) bool {
	if name == "" {
		return false
	}
	if c.has("") {
		return true
	}
	for i := range len(name) {
		if name[i] == '/' && c.has(name[:i]) {
			return true
		}
	}
	return false
}

func (c *coalescer) has(name string) bool {
	_, ok := c.paths[name]
	return ok
}

// next returns when the pending batch becomes due: Debounce after its last
// event or MaxDelay after its first, whichever is earlier. ok is false when
// nothing is pending.
func (c *coalescer) next() (at time.Time, ok bool) {
	if c.empty() {
		return time.Time{}, false
	}
	quiet := c.last.Add(c.debounce)
	limit := c.first.Add(c.maxDelay)
	if limit.Before(quiet) {
		return limit, true
	}
	return quiet, true
}

// due reports whether a batch should be delivered at now.
func (c *coalescer) due(now time.Time) bool {
	at, ok := c.next()
	return ok && !now.Before(at)
}

// take returns the pending batch, minimal, collapsed to at most MaxPaths
// names and sorted, and empties the coalescer. It returns a zero Batch when
// nothing is pending.
func (c *coalescer) take() Batch {
	if c.empty() {
		return Batch{}
	}
	c.compact()
	b := Batch{Paths: make([]string, 0, len(c.paths)), Overflow: c.overflow}
	for p := range c.paths {
		b.Paths = append(b.Paths, p)
	}
	slices.Sort(b.Paths)
	clear(c.paths)
	c.overflow = false
	return b
}

// compact drops pending names inside other pending names and, while more
// than MaxPaths remain, replaces the deepest names by their parents.
func (c *coalescer) compact() {
	c.minimize()
	for len(c.paths) > c.maxPaths {
		d := maxDepth(c.paths)
		for p := range c.paths {
			// A parent added during the loop has depth d-1 and is
			// left alone if the range reaches it.
			if depth(p) == d {
				delete(c.paths, p)
				c.paths[parent(p)] = struct{}{}
			}
		}
		c.minimize()
	}
}

// minimize drops every pending name that has a pending ancestor.
func (c *coalescer) minimize() {
	if c.has("") {
		clear(c.paths)
		c.paths[""] = struct{}{}
		return
	}
	for p := range c.paths {
		if c.hasAncestor(p) {
			delete(c.paths, p)
		}
	}
}

// depth returns the number of components of name, 0 for "".
func depth(name string) int {
	if name == "" {
		return 0
	}
	return strings.Count(name, "/") + 1
}

func maxDepth(set map[string]struct{}) int {
	d := 0
	for p := range set {
		d = max(d, depth(p))
	}
	return d
}

// parent returns the directory of name, "" for a top-level name.
func parent(name string) string {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ""
	}
	return name[:i]
}
