package web

import (
	"embed"
	"net/http"
)

// uiFiles are the web UI's static files: a page, a script and a style sheet,
// served as they are (no build step).
//
//go:embed ui/index.html ui/app.js ui/style.css
var uiFiles embed.FS

// staticFile is an embedded file and its content type.
type staticFile struct {
	name        string
	contentType string
}

// staticFiles maps the URL paths of the UI's files to them.
func staticFiles() map[string]staticFile {
	return map[string]staticFile{
		"/app.js":    {"ui/app.js", "text/javascript; charset=utf-8"},
		"/style.css": {"ui/style.css", "text/css; charset=utf-8"},
	}
}

// index serves the UI page. It holds no secret: anyone on this machine may
// load it, and its script trades the API key for a session (see session).
func (s *server) index(w http.ResponseWriter, r *http.Request) error {
	if !isLoopbackPeer(r.RemoteAddr) {
		return &httpError{http.StatusForbidden, "the web UI opens only in a browser on this machine"}
	}
	page, err := uiFiles.ReadFile("ui/index.html")
	if err != nil {
		panic("web: missing embedded file ui/index.html")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page)
	return nil
}

// createSession gives a browser that proved it knows the API key (in its
// header: nothing else reaches this route, see authenticate) the session
// cookie and the CSRF token its script sends with it.
func (s *server) createSession(w http.ResponseWriter, r *http.Request) error {
	if s.sess.cookieName == "" {
		return &httpError{http.StatusUnauthorized, "this daemon has no API key"}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.sess.cookieName,
		Value:    s.sess.cookie,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	return writeJSON(w, SessionInfo{CSRF: s.sess.csrf})
}

// currentSession gives a page loaded again in a browser that holds the
// session cookie its CSRF token. Only this origin can read the answer.
func (s *server) currentSession(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, SessionInfo{CSRF: s.sess.csrf})
}

// static serves one embedded file.
func (s *server) static(f staticFile) http.Handler {
	data, err := uiFiles.ReadFile(f.name)
	if err != nil {
		// The names are fixed above and embedded: a miss is a build error.
		panic("web: missing embedded file " + f.name)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", f.contentType)
		w.Write(data)
	})
}
