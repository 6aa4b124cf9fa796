package web

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"ferry/proto"
)

// maxBody limits request bodies.
const maxBody = 1 << 20

// perm is a set of permissions a request holds or a route needs.
type perm uint8

const (
	permRead perm = 1 << iota
	permWrite
	permSession // may read the session's CSRF token
	permAPIKey  // proved the API key itself
)

// route is one row of the route table: a ServeMux pattern, the permission it
// needs and its handler. A handler returns an error instead of writing one.
type route struct {
	method  string
	path    string
	need    perm
	handler func(w http.ResponseWriter, r *http.Request) error
}

type server struct {
	backend Backend
	apiKey  string
	sess    session
	log     *slog.Logger
}

// NewServer returns the handler serving the API over b and the web UI.
// apiKey is the key clients must send; the UI's session cookie and CSRF
// token derive from it. An empty key refuses every API call. A nil logger
// discards.
func NewServer(b Backend, apiKey string, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &server{backend: b, apiKey: apiKey, sess: newSession(apiKey), log: logger}
	mux := http.NewServeMux()
	paths := make(map[string]bool)
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.path, s.endpoint(rt))
		if !paths[rt.path] {
			paths[rt.path] = true
			mux.Handle(rt.path, s.fail(&httpError{http.StatusMethodNotAllowed, "method not allowed"}))
		}
	}
	mux.Handle("GET /{$}", s.handle(s.index))
	for path, f := range staticFiles() {
		mux.Handle("GET "+path, s.static(f))
	}
	mux.Handle("/", s.fail(&httpError{http.StatusNotFound, "no such page"}))
	return s.guard(mux)
}

func (s *server) routes() []route {
	return []route{
		{"GET", "/api/ping", permRead, s.ping},
		{"POST", "/api/session", permAPIKey, s.createSession},
		{"GET", "/api/session", permSession, s.currentSession},
		{"GET", "/api/status", permRead, s.status},
		{"POST", "/api/scan", permWrite, s.scan},
		{"POST", "/api/devices", permWrite, s.addDevice},
		{"DELETE", "/api/devices/{id}", permWrite, s.removeDevice},
		{"POST", "/api/folders", permWrite, s.addFolder},
		{"POST", "/api/folders/{id}/share", permWrite, s.shareFolder},
		{"POST", "/api/folders/{id}/" + ActionResume, permWrite, s.folderAction(ActionResume)},
		{"POST", "/api/folders/{id}/" + ActionConfirmDeletes, permWrite, s.folderAction(ActionConfirmDeletes)},
		{"POST", "/api/folders/{id}/" + ActionRevert, permWrite, s.folderAction(ActionRevert)},
		{"POST", "/api/folders/{id}/" + ActionOverride, permWrite, s.folderAction(ActionOverride)},
		{"PATCH", "/api/folders/{id}", permWrite, s.setFolder},
		{"POST", "/api/folders/{id}/" + ActionPause, permWrite, s.folderAction(ActionPause)},
		{"DELETE", "/api/folders/{id}", permWrite, s.removeFolder},
		{"DELETE", "/api/folders/{id}/devices/{device}", permWrite, s.unshareFolder},
		{"PATCH", "/api/devices/{id}", permWrite, s.setDevice},
		{"POST", "/api/offered", permWrite, s.acceptFolder},
		{"DELETE", "/api/pending/{id}", permWrite, s.ignoreDevice},
		{"POST", "/api/pair", permWrite, s.createOffer},
		{"GET", "/api/pair", permRead, s.currentOffer},
		{"DELETE", "/api/pair", permWrite, s.cancelOffer},
		{"POST", "/api/pair/join", permWrite, s.join},
		{"GET", "/api/versions", permRead, s.versions},
		{"POST", "/api/restore", permWrite, s.restore},
		{"POST", "/api/restore/folder", permWrite, s.restoreFolder},
		{"GET", "/api/history", permRead, s.folderAt},
		{"GET", "/api/history/moments", permRead, s.moments},
		{"GET", "/api/conflicts", permRead, s.conflicts},
		{"POST", "/api/conflicts/resolve", permWrite, s.resolveConflict},
	}
}

// endpoint checks the route's permission and runs its handler.
func (s *server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if granted(r)&rt.need != rt.need {
			s.writeError(w, r, &httpError{http.StatusForbidden, "this session may not do that"})
			return
		}
		if err := rt.handler(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// handle runs a handler that needs no permission.
func (s *server) handle(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *server) fail(err error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, err) })
}

func (s *server) ping(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) status(w http.ResponseWriter, r *http.Request) error {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		return err
	}
	st.normalize()
	return writeJSON(w, st)
}

func (s *server) scan(w http.ResponseWriter, r *http.Request) error {
	var req scanRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Folder == "" {
		return badRequest("missing folder")
	}
	if err := s.backend.Scan(r.Context(), req.Folder, req.Path); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) addDevice(w http.ResponseWriter, r *http.Request) error {
	var req DeviceRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	id, err := canonicalID(req.ID)
	if err != nil {
		return err
	}
	req.ID = id
	if err := s.backend.AddDevice(r.Context(), req); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) removeDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := canonicalID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.backend.RemoveDevice(r.Context(), id); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) addFolder(w http.ResponseWriter, r *http.Request) error {
	var req FolderRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Path == "" {
		return badRequest("missing path")
	}
	id, err := s.backend.AddFolder(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, folderResponse{ID: id})
}

func (s *server) shareFolder(w http.ResponseWriter, r *http.Request) error {
	var req shareRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	dev, err := canonicalID(req.Device)
	if err != nil {
		return err
	}
	if err := s.backend.ShareFolder(r.Context(), r.PathValue("id"), dev); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) folderAction(action string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.backend.FolderAction(r.Context(), r.PathValue("id"), action); err != nil {
			return err
		}
		return writeJSON(w, okResponse{OK: true})
	}
}

func (s *server) setFolder(w http.ResponseWriter, r *http.Request) error {
	var req FolderSettings
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.backend.SetFolder(r.Context(), r.PathValue("id"), req); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

// canonicalID parses a device ID so the backend always sees one spelling.
func canonicalID(s string) (string, error) {
	if s == "" {
		return "", badRequest("missing device ID")
	}
	id, err := proto.ParseDeviceID(s)
	if err != nil {
		return "", BadRequest(err)
	}
	return id.String(), nil
}

func badRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }

// readJSON decodes a request body of at most maxBody bytes holding exactly
// one JSON value with known fields.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("unexpected data after the JSON value")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &tooBig):
		return &httpError{http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB"}
	case errors.Is(err, io.EOF):
		return badRequest("missing JSON request body")
	}
	return badRequest("invalid JSON request body: " + err.Error())
}

func writeJSON(w http.ResponseWriter, v any) error {
	return writeJSONStatus(w, http.StatusOK, v)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	// A failed write means the client went away: there is nobody to tell.
	w.Write(append(data, '\n'))
	return nil
}

func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	level := slog.LevelDebug
	if status >= http.StatusInternalServerError {
		level = slog.LevelWarn
	}
	s.log.Log(r.Context(), level, "api request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	writeJSONStatus(w, status, errorResponse{Error: err.Error()})
}
