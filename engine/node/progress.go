package node

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"ferry/web"
)

// maxPullingShown bounds the files being pulled that a folder's status
// names; the status counts the others.
const maxPullingShown = web.MaxPulling

// pullProgress tracks, for each file being pulled now, how many of its bytes
// are in its temp file already: held there by an interrupted pull, copied
// from a local file or fetched from a peer. It holds the pulls in flight
// only, at most the engine's MaxPulls of them.
//
// A pull's entry lives from the moment its blocks are planned until the
// engine has taken its result (see folderRunner.step), so a status, read
// under the same lock as the engine's, never counts a file's bytes both as
// needed and as in place, nor forgets them in between.
type pullProgress struct {
	mu    sync.Mutex
	files map[string]*pulling
	next  uint64 // order of the next pull to begin
}

// pulling is one file being pulled.
type pulling struct {
	name  string
	size  int64
	order uint64
	done  atomic.Int64
}

// pullState is a file being pulled as a status shows it.
type pullState struct {
	Name       string
	Size, Done int64
}

// begin starts tracking the pull of name, size bytes of which done are in
// place already, replacing an earlier entry of the name.
func (p *pullProgress) begin(name string, size, done int64) *pulling {
	f := &pulling{name: name, size: size}
	f.done.Store(done)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.files == nil {
		p.files = make(map[string]*pulling)
	}
	f.order = p.next
	p.next++
	p.files[name] = f
	return f
}

// add counts n more bytes in place.
func (f *pulling) add(n int64) { f.done.Add(n) }

// state is f's progress, Done kept within 0 and Size.
func (f *pulling) state() pullState {
	return pullState{Name: f.name, Size: f.size, Done: min(max(f.done.Load(), 0), f.size)}
}

// end stops tracking the pull of name.
func (p *pullProgress) end(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.files, name)
}

// snapshot returns the first limit pulls in the order they began, how
// many there are in all, and the bytes in place across all of them.
func (p *pullProgress) snapshot(limit int) (shown []pullState, total int, done int64) {
	p.mu.Lock()
	all := make([]*pulling, 0, len(p.files))
	for _, f := range p.files {
		all = append(all, f)
	}
	p.mu.Unlock()
	slices.SortFunc(all, func(a, b *pulling) int { return cmp.Compare(a.order, b.order) })
	for i, f := range all {
		s := f.state()
		done += s.Done
		if i < limit {
			shown = append(shown, s)
		}
	}
	return shown, len(all), done
}
