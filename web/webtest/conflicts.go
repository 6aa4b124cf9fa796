package webtest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"ferry/web"
)

// SetConflicts replaces the conflict copies later ConflictList calls
// return, of every folder.
func (b *Backend) SetConflicts(cs []web.Conflict) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.copies = slices.Clone(cs)
}

// ConflictList returns the conflicts given to SetConflicts, of a known
// folder or of all.
func (b *Backend) ConflictList(ctx context.Context, folder string) ([]web.Conflict, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("ConflictList %s", folder); err != nil {
		return nil, err
	}
	if folder != "" && !slices.Contains(b.folders, folder) {
		return nil, web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	var out []web.Conflict
	for _, c := range b.copies {
		if folder == "" || c.Folder == folder {
			out = append(out, c)
		}
	}
	return out, nil
}

// ResolveConflict resolves a listed conflict as a daemon would: the copy
// stops being listed; a copy not listed is web.NotFound, versions other
// than those listed web.BadRequest.
func (b *Backend) ResolveConflict(ctx context.Context, req web.ResolveRequest) (web.ResolveResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.record("ResolveConflict %s %s %s", req.Folder, req.Copy, req.Keep); err != nil {
		return web.ResolveResult{}, err
	}
	i := slices.IndexFunc(b.copies, func(c web.Conflict) bool { return c.Folder == req.Folder && c.Copy.Name == req.Copy })
	if i < 0 {
		return web.ResolveResult{}, web.NotFound(fmt.Errorf("%s is not a conflict copy in folder %s", req.Copy, req.Folder))
	}
	c := b.copies[i]
	if req.CopyVersion != c.Copy.Version || req.OriginalVersion != c.Original.Version {
		return web.ResolveResult{}, web.BadRequest(fmt.Errorf("%s changed since it was listed", c.Original.Name))
	}
	b.copies = slices.Delete(b.copies, i, i+1)
	if req.Keep == web.KeepBoth {
		return web.ResolveResult{Name: strings.Replace(c.Copy.Name, ".conflict-", " (kept) ", 1)}, nil
	}
	return web.ResolveResult{Name: c.Original.Name, Removed: c.Copy.Name}, nil
}
