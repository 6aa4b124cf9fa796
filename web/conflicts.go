package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Conflicts is the part of the Backend that lists the conflict copies of
// files ("name.conflict-YYYYMMDD-HHMMSS-<device>.ext") and resolves them.
type Conflicts interface {
	// ConflictList lists the conflict copies of folder, or of every folder
	// when folder is empty, by folder and copy name, at most MaxConflicts.
	ConflictList(ctx context.Context, folder string) ([]Conflict, error)
	// ResolveConflict keeps one version of a conflict, or both under
	// ordinary names. What it replaces or removes is kept in the history
	// first; the change syncs like any change made here.
	ResolveConflict(ctx context.Context, req ResolveRequest) (ResolveResult, error)
}

// MaxConflicts bounds the conflict copies ConflictList returns.
const MaxConflicts = 10000

// Ways to resolve a conflict, as in ResolveRequest.Keep.
const (
	KeepCopy     = "copy"     // the copy's content becomes the file; the copy goes
	KeepOriginal = "original" // the file stays as it is; the copy goes
	KeepBoth     = "both"     // the copy gets an ordinary name beside the file
)

// Conflict is a conflict copy and the file it is a copy beside.
type Conflict struct {
	Folder   string          `json:"folder"`
	Original ConflictVersion `json:"original"`
	Copy     ConflictVersion `json:"copy"`
}

// ConflictVersion is one side of a conflict. Device is the ID of the
// device that made the version (its short ID when it is not a known
// device), DeviceName its name in the configuration ("" when unknown).
// Version changes whenever the file does: a resolve request carries it
// back so that a file changed since it was listed is not touched.
type ConflictVersion struct {
	Name       string    `json:"name"`
	Exists     bool      `json:"exists"` // false for an original deleted since
	Device     string    `json:"device"`
	DeviceName string    `json:"deviceName"`
	ModTime    time.Time `json:"modTime"`
	Size       int64     `json:"size"`
	Version    string    `json:"version"`
}

// ResolveRequest resolves the conflict of the copy Copy in Folder: Keep is
// KeepCopy, KeepOriginal or KeepBoth. CopyVersion and OriginalVersion are
// the versions as listed (OriginalVersion empty when the original was not
// there); the request is refused if either side changed since.
type ResolveRequest struct {
	Folder          string `json:"folder"`
	Copy            string `json:"copy"`
	Keep            string `json:"keep"`
	CopyVersion     string `json:"copyVersion"`
	OriginalVersion string `json:"originalVersion"`
}

// ResolveResult says what a resolve did: Name holds the kept content
// (the original's name, or with KeepBoth the copy's new name), Removed
// the name that went away ("" with KeepBoth), kept in the history.
type ResolveResult struct {
	Name    string `json:"name"`
	Removed string `json:"removed,omitempty"`
}

func (s *server) conflicts(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.backend.ConflictList(r.Context(), r.URL.Query().Get("folder"))
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []Conflict{}
	}
	return writeJSON(w, cs[:min(len(cs), MaxConflicts)])
}

func (s *server) resolveConflict(w http.ResponseWriter, r *http.Request) error {
	var req ResolveRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	res, err := s.backend.ResolveConflict(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, res)
}

// check refuses a request that cannot be right whatever the folder holds.
func (req ResolveRequest) check() error {
	switch {
	case req.Folder == "" || req.Copy == "":
		return badRequest("missing folder or copy")
	case req.CopyVersion == "":
		return badRequest("missing copyVersion: list the conflicts first and pass the copy's version")
	case req.Keep != KeepCopy && req.Keep != KeepOriginal && req.Keep != KeepBoth:
		return badRequest(fmt.Sprintf("keep %q: want %s, %s or %s", req.Keep, KeepCopy, KeepOriginal, KeepBoth))
	}
	return nil
}

// ConflictList lists the conflict copies of folder, or of all folders
// when folder is empty.
func (c *Client) ConflictList(ctx context.Context, folder string) ([]Conflict, error) {
	var cs []Conflict
	p := "/api/conflicts"
	if folder != "" {
		p += "?" + url.Values{"folder": {folder}}.Encode()
	}
	err := c.call(ctx, http.MethodGet, p, nil, &cs)
	return cs, err
}

// ResolveConflict resolves one conflict.
func (c *Client) ResolveConflict(ctx context.Context, req ResolveRequest) (ResolveResult, error) {
	var res ResolveResult
	err := c.call(ctx, http.MethodPost, "/api/conflicts/resolve", req, &res)
	return res, err
}
