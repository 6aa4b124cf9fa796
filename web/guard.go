package web

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// APIKeyHeader carries the API key on every /api/ request.
const APIKeyHeader = "X-API-Key"

type permKey struct{}

// granted returns the permissions the guard gave this request.
func granted(r *http.Request) perm {
	p, _ := r.Context().Value(permKey{}).(perm)
	return p
}

// guard is the one gate in front of every route: security headers, the
// Host and Origin checks, and authentication of /api/ requests.
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if !isLoopbackHost(r.Host) {
			s.writeError(w, r, &httpError{http.StatusForbidden, "host " + r.Host + " is not a loopback name; use localhost or 127.0.0.1"})
			return
		}
		if !sameOrigin(r) {
			s.writeError(w, r, &httpError{http.StatusForbidden, "cross-origin requests are refused"})
			return
		}
		p := s.authenticate(r)
		if strings.HasPrefix(r.URL.Path, "/api/") && p == 0 {
			s.writeError(w, r, &httpError{http.StatusUnauthorized, "missing or wrong API key (" + APIKeyHeader + " header)"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), permKey{}, p)))
	})
}

// authenticate returns what the request may do. The API key grants
// everything.
func (s *server) authenticate(r *http.Request) perm {
	key := r.Header.Get(APIKeyHeader)
	if s.apiKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.apiKey)) == 1 {
		return permRead | permWrite
	}
	return 0
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
