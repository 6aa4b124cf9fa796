package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// APIKeyHeader carries the API key on every /api/ request of the command
// line client.
const APIKeyHeader = "X-API-Key"

// CSRFHeader carries the CSRF token on every /api/ request the web UI makes
// with its session cookie. The page's script gets it from /api/session.
const CSRFHeader = "X-CSRF-Token"

// contentSecurityPolicy allows only this origin's files, plus data: images
// for the pairing QR code.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type permKey struct{}

// granted returns the permissions the guard gave this request.
func granted(r *http.Request) perm {
	p, _ := r.Context().Value(permKey{}).(perm)
	return p
}

// session holds what a browser gets once it proved it knows the API key: a
// cookie and a CSRF token, both derived from the API key so they survive a
// daemon restart and change with the key. A zero session (no API key)
// matches nothing.
type session struct {
	cookieName string
	cookie     string
	csrf       string
}

func newSession(apiKey string) session {
	if apiKey == "" {
		return session{}
	}
	// The name differs per daemon: cookies ignore the port, and two daemons
	// on one machine must not overwrite each other's.
	return session{
		cookieName: "ferry_" + derive(apiKey, "cookie name")[:12],
		cookie:     derive(apiKey, "session cookie"),
		csrf:       derive(apiKey, "csrf token"),
	}
}

// derive returns HMAC-SHA256(apiKey, purpose) in hex.
func derive(apiKey, purpose string) string {
	m := hmac.New(sha256.New, []byte(apiKey))
	m.Write([]byte("ferry web " + purpose))
	return hex.EncodeToString(m.Sum(nil))
}

// guard is the one gate in front of every route: security headers, the
// Host and Origin checks, and authentication of /api/ requests.
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if !isLoopbackHost(r.Host) {
			s.writeError(w, r, &httpError{http.StatusForbidden, "host " + r.Host + " is not a loopback name; use localhost or 127.0.0.1"})
			return
		}
		if !sameOrigin(r) {
			s.writeError(w, r, &httpError{http.StatusForbidden, "cross-origin requests are refused"})
			return
		}
		var p perm
		if strings.HasPrefix(r.URL.Path, "/api/") {
			var err error
			if p, err = s.authenticate(r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), permKey{}, p)))
	})
}

// authenticate returns what an API request may do, or why it may not. The
// API key in its header grants everything; so does the session cookie with
// the CSRF token in its header. The cookie alone may only read the CSRF
// token (GET /api/session), which a page of another origin cannot read. A
// request with a key header is judged by the key alone.
func (s *server) authenticate(r *http.Request) (perm, error) {
	if key := r.Header.Get(APIKeyHeader); key != "" || s.sess.cookieName == "" {
		if s.apiKey != "" && equal(key, s.apiKey) {
			return permRead | permWrite | permSession | permAPIKey, nil
		}
		return 0, &httpError{http.StatusUnauthorized, "missing or wrong API key (" + APIKeyHeader + " header)"}
	}
	c, err := r.Cookie(s.sess.cookieName)
	if err != nil || !equal(c.Value, s.sess.cookie) {
		return 0, &httpError{http.StatusUnauthorized, "missing or wrong API key (" + APIKeyHeader + " header); to open the web UI, run `ferry ui`"}
	}
	if r.Method == http.MethodGet && r.URL.Path == "/api/session" {
		return permSession, nil
	}
	if !equal(r.Header.Get(CSRFHeader), s.sess.csrf) {
		return 0, &httpError{http.StatusForbidden, "missing or wrong CSRF token (" + CSRFHeader + " header); reload the page"}
	}
	return permRead | permWrite | permSession, nil
}

// equal compares secrets in constant time.
func equal(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// isLoopbackHost reports whether a Host header (with or without a port)
// names this machine: localhost, an address in 127.0.0.0/8, or ::1.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

// isLoopbackPeer reports whether a request's remote address (ip:port) is on
// this machine.
func isLoopbackPeer(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// sameOrigin reports whether a request may come from where it says: a
// browser's Origin must be this very loopback origin, and its Sec-Fetch-Site
// must not be cross-site. Requests without either header (command line
// clients) pass.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin, ok := r.Header["Origin"]
	if !ok {
		return true
	}
	if len(origin) != 1 {
		return false
	}
	u, err := url.Parse(origin[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Path != "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) && isLoopbackHost(u.Host)
}

// SessionInfo answers /api/session: the CSRF token the UI's script sends
// with its session cookie.
type SessionInfo struct {
	CSRF string `json:"csrf"`
}
