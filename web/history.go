package web

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// History is the part of the Backend that lists and restores the old
// versions of files.
type History interface {
	// Versions lists the versions of name in folder: the current one
	// (ID 0), if the file is there, then the kept ones, newest first.
	Versions(ctx context.Context, folder, name string) ([]VersionInfo, error)
	// Restore writes a version back, in place or into another directory.
	Restore(ctx context.Context, req RestoreRequest) (RestoreResult, error)
}

// VersionInfo is one version of a file.
type VersionInfo struct {
	ID      uint64    `json:"id"` // 0 for the current version
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
	// Until is when this device replaced it; zero for the current version.
	Until time.Time `json:"until,omitzero"`
	Kind  string    `json:"kind"` // current, edited, deleted, conflict copy or reverted
	// By is the device whose change replaced it (its short ID), or for the
	// current version the device that made it.
	By string `json:"by,omitempty"`
}

// RestoreRequest asks for a version of a file: by ID, or the one that was
// the file at At. To, when set, is a directory to write it into instead of
// its place in the folder.
type RestoreRequest struct {
	Folder  string    `json:"folder"`
	Name    string    `json:"name"`
	Version uint64    `json:"version,omitempty"`
	At      time.Time `json:"at,omitzero"`
	To      string    `json:"to,omitempty"`
}

// RestoreResult says what was written.
type RestoreResult struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	Version uint64 `json:"version"`
}

func (s *server) versions(w http.ResponseWriter, r *http.Request) error {
	folder, name := r.URL.Query().Get("folder"), r.URL.Query().Get("name")
	if folder == "" || name == "" {
		return badRequest("missing folder or name")
	}
	vs, err := s.backend.Versions(r.Context(), folder, name)
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []VersionInfo{}
	}
	return writeJSON(w, vs)
}

func (s *server) restore(w http.ResponseWriter, r *http.Request) error {
	var req RestoreRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Folder == "" || req.Name == "" {
		return badRequest("missing folder or name")
	}
	if req.Version == 0 && req.At.IsZero() {
		return badRequest("say which version: an ID or a time")
	}
	res, err := s.backend.Restore(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, res)
}

// Versions lists the versions of name in folder.
func (c *Client) Versions(ctx context.Context, folder, name string) ([]VersionInfo, error) {
	var vs []VersionInfo
	q := url.Values{"folder": {folder}, "name": {name}}
	err := c.call(ctx, http.MethodGet, "/api/versions?"+q.Encode(), nil, &vs)
	return vs, err
}

// Restore writes a version of a file back.
func (c *Client) Restore(ctx context.Context, req RestoreRequest) (RestoreResult, error) {
	var res RestoreResult
	err := c.call(ctx, http.MethodPost, "/api/restore", req, &res)
	return res, err
}
