package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	// FolderAt lists the files of folder as they were at at: for each, the
	// version it was then (ID 0: the current one), sorted by name.
	FolderAt(ctx context.Context, folder string, at time.Time) ([]VersionInfo, error)
	// Moments returns when the kept versions of folder were replaced,
	// newest first, at most MaxMoments: the moments worth looking at.
	Moments(ctx context.Context, folder string) ([]time.Time, error)
	// RestoreFolder puts the whole folder back as it was at req.At, calling
	// progress now and then with how far it got.
	RestoreFolder(ctx context.Context, req FolderRestoreRequest, progress func(RestoreProgress)) (FolderRestoreResult, error)
}

// MaxMoments bounds the moments Moments returns.
const MaxMoments = 1000

// FolderRestoreRequest asks for a whole folder as it was at At: into the
// directory To, which must be empty or missing, or in place when To is
// empty. In place, files made after At stay unless Exact is set; then
// they are kept in the history and removed.
type FolderRestoreRequest struct {
	Folder string    `json:"folder"`
	At     time.Time `json:"at"`
	To     string    `json:"to,omitempty"`
	Exact  bool      `json:"exact,omitempty"`
}

// RestoreProgress is how far a folder restore got.
type RestoreProgress struct {
	Files      int   `json:"files"`
	TotalFiles int   `json:"totalFiles"`
	Bytes      int64 `json:"bytes"`
	TotalBytes int64 `json:"totalBytes"`
}

// FolderRestoreResult says what a folder restore did.
type FolderRestoreResult struct {
	Path      string `json:"path"`      // the directory written
	Files     int    `json:"files"`     // files written
	Bytes     int64  `json:"bytes"`     // bytes written
	Unchanged int    `json:"unchanged"` // files already as they were (in place)
	Removed   int    `json:"removed"`   // files made after the moment, removed (in place, Exact)
}

// restoreLine is one line of the answer to a folder restore: progress
// lines, then a result or an error.
type restoreLine struct {
	Progress *RestoreProgress     `json:"progress,omitempty"`
	Result   *FolderRestoreResult `json:"result,omitempty"`
	Error    string               `json:"error,omitempty"`
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
	// Device is the device that keeps this version: empty for this one,
	// else a connected device's ID.
	Device string `json:"device,omitempty"`
}

// RestoreRequest asks for a version of a file: by ID, or the one that was
// the file at At. To, when set, is a directory to write it into instead of
// its place in the folder.
type RestoreRequest struct {
	Folder  string `json:"folder"`
	Name    string `json:"name"`
	Version uint64 `json:"version,omitempty"`
	// Device is the device that keeps Version, empty for this one.
	Device string    `json:"device,omitempty"`
	At     time.Time `json:"at,omitzero"`
	To     string    `json:"to,omitempty"`
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

func (s *server) folderAt(w http.ResponseWriter, r *http.Request) error {
	folder := r.URL.Query().Get("folder")
	if folder == "" {
		return badRequest("missing folder")
	}
	at := time.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return badRequest("at: want an RFC 3339 time")
		}
		at = t
	}
	vs, err := s.backend.FolderAt(r.Context(), folder, at)
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []VersionInfo{}
	}
	return writeJSON(w, vs)
}

func (s *server) moments(w http.ResponseWriter, r *http.Request) error {
	folder := r.URL.Query().Get("folder")
	if folder == "" {
		return badRequest("missing folder")
	}
	ts, err := s.backend.Moments(r.Context(), folder)
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []time.Time{}
	}
	return writeJSON(w, ts[:min(len(ts), MaxMoments)])
}

// restoreFolder answers with JSON lines: progress at most every 200 ms,
// then the result or the error. The status is sent before the work, so
// an error found later comes in the last line.
func (s *server) restoreFolder(w http.ResponseWriter, r *http.Request) error {
	var req FolderRestoreRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Folder == "" || req.At.IsZero() {
		return badRequest("missing folder or time")
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	var last time.Time
	res, err := s.backend.RestoreFolder(r.Context(), req, func(p RestoreProgress) {
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		enc.Encode(restoreLine{Progress: &p})
		if flusher != nil {
			flusher.Flush()
		}
	})
	if err != nil {
		return enc.Encode(restoreLine{Error: err.Error()})
	}
	return enc.Encode(restoreLine{Result: &res})
}

// FolderAt lists the files of folder as they were at at.
func (c *Client) FolderAt(ctx context.Context, folder string, at time.Time) ([]VersionInfo, error) {
	var vs []VersionInfo
	q := url.Values{"folder": {folder}, "at": {at.Format(time.RFC3339Nano)}}
	err := c.call(ctx, http.MethodGet, "/api/history?"+q.Encode(), nil, &vs)
	return vs, err
}

// Moments returns when the kept versions of folder were replaced.
func (c *Client) Moments(ctx context.Context, folder string) ([]time.Time, error) {
	var ts []time.Time
	err := c.call(ctx, http.MethodGet, "/api/history/moments?"+url.Values{"folder": {folder}}.Encode(), nil, &ts)
	return ts, err
}

// RestoreFolder restores a whole folder as it was at req.At, calling
// progress with each progress line the daemon sends.
func (c *Client) RestoreFolder(ctx context.Context, req FolderRestoreRequest, progress func(RestoreProgress)) (FolderRestoreResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return FolderRestoreResult{}, err
	}
	resp, err := c.open(ctx, http.MethodPost, "/api/restore/folder", body)
	if err != nil {
		return FolderRestoreResult{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l restoreLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return FolderRestoreResult{}, fmt.Errorf("restore folder: bad answer line: %w", err)
		}
		switch {
		case l.Progress != nil && progress != nil:
			progress(*l.Progress)
		case l.Result != nil:
			return *l.Result, nil
		case l.Error != "":
			return FolderRestoreResult{}, &APIError{Status: http.StatusOK, Message: l.Error}
		}
	}
	if err := sc.Err(); err != nil {
		return FolderRestoreResult{}, fmt.Errorf("restore folder: read answer: %w", err)
	}
	return FolderRestoreResult{}, errors.New("restore folder: the daemon's answer ended early")
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
