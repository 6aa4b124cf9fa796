package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

// uiFiles are the web UI's static files: a page, a script and a style sheet,
// served as they are (no build step).
//
//go:embed ui/index.html ui/app.js ui/style.css
var uiFiles embed.FS

// indexPage is the UI page; it receives the CSRF token.
var indexPage = template.Must(template.ParseFS(uiFiles, "ui/index.html"))

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

// index serves the UI page. A browser on this machine gets the session
// cookie with it, and the page carries the CSRF token its script sends.
func (s *server) index(w http.ResponseWriter, r *http.Request) error {
	if !isLoopbackPeer(r.RemoteAddr) {
		return &httpError{http.StatusForbidden, "the web UI opens only in a browser on this machine"}
	}
	var page bytes.Buffer
	if err := indexPage.Execute(&page, struct{ CSRF string }{s.sess.csrf}); err != nil {
		return err
	}
	if s.sess.cookieName != "" {
		http.SetCookie(w, &http.Cookie{
			Name:     s.sess.cookieName,
			Value:    s.sess.cookie,
			Path:     "/",
			HttpOnly: true,
			SameSite: http.SameSiteStrictMode,
		})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page.Bytes())
	return nil
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
