package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"ferry/web"
	"ferry/web/webtest"
)

// page fetches the UI page from this machine.
func page(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", "http://127.0.0.1:8484/", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Sec-Fetch-Site", "none")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// signIn trades key for a session as the UI's script does and returns the
// answer, the session cookie it set (nil if none) and the CSRF token.
func signIn(t *testing.T, h http.Handler, key string) (*httptest.ResponseRecorder, *http.Cookie, string) {
	t.Helper()
	req := browserRequest("POST", "/api/session", "", nil, "")
	if key != "" {
		req.Header.Set(web.APIKeyHeader, key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var cookie *http.Cookie
	if cs := rec.Result().Cookies(); len(cs) == 1 {
		cookie = cs[0]
	} else if len(cs) > 1 {
		t.Fatalf("session set %d cookies", len(cs))
	}
	var info web.SessionInfo
	json.Unmarshal(rec.Body.Bytes(), &info)
	return rec, cookie, info.CSRF
}

// browserRequest is an API request as the UI's script sends it.
func browserRequest(method, path, body string, cookie *http.Cookie, csrf string) *http.Request {
	req := httptest.NewRequest(method, "http://127.0.0.1:8484"+path, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40001"
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if method != "GET" {
		req.Header.Set("Origin", "http://127.0.0.1:8484")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if csrf != "" {
		req.Header.Set(web.CSRFHeader, csrf)
	}
	return req
}

// TestPageHoldsNoSecret: any process on this machine may load the page, so
// it must give neither the cookie nor the CSRF token; only a proof of the
// API key does.
func TestPageHoldsNoSecret(t *testing.T) {
	h := web.NewServer(webtest.New(testStatus()), testKey, nil)
	rec := page(t, h)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<title>ferry</title>") {
		t.Fatalf("GET / = %d %s", rec.Code, rec.Body)
	}
	_, c, csrf := signIn(t, h, testKey)
	if c == nil || csrf == "" {
		t.Fatal("the key gave no session")
	}
	if len(rec.Result().Cookies()) != 0 || strings.Contains(rec.Body.String(), csrf) || strings.Contains(rec.Body.String(), c.Value) {
		t.Errorf("the page hands out the session: cookies %v", rec.Result().Cookies())
	}
	for _, key := range []string{"", "wrong-key-wrong-key", testKey[:len(testKey)-1]} {
		rec, c, csrf := signIn(t, h, key)
		if rec.Code != http.StatusUnauthorized || c != nil || csrf != "" {
			t.Errorf("session with key %q = %d, cookie %v, token %q; want 401 and nothing", key, rec.Code, c, csrf)
		}
	}
}

func TestSessionCookie(t *testing.T) {
	h := web.NewServer(webtest.New(testStatus()), testKey, nil)
	rec, c, csrf := signIn(t, h, testKey)
	if rec.Code != 200 {
		t.Fatalf("POST /api/session = %d %s", rec.Code, rec.Body)
	}
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie %s: want HttpOnly, SameSite=Strict, Path=/, no Domain", rec.Header().Get("Set-Cookie"))
	}
	if c.Value == "" || strings.Contains(c.Value, testKey) || csrf == "" || strings.Contains(csrf, testKey) || csrf == c.Value {
		t.Errorf("cookie %q, CSRF token %q: want distinct values that are not the key", c.Value, csrf)
	}
	other := strings.Repeat("9", 32)
	_, oc, otherCSRF := signIn(t, web.NewServer(webtest.New(testStatus()), other, nil), other)
	if oc.Name == c.Name || oc.Value == c.Value || otherCSRF == csrf {
		t.Errorf("two daemons with different keys share cookie %s or token %s", c.Name, csrf)
	}
	// A reload finds the token with the cookie alone; nothing else does.
	for _, tt := range []struct {
		cookie *http.Cookie
		status int
	}{{c, 200}, {nil, 401}, {&http.Cookie{Name: c.Name, Value: strings.Repeat("0", len(c.Value))}, 401}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, browserRequest("GET", "/api/session", "", tt.cookie, ""))
		var info web.SessionInfo
		json.Unmarshal(rec.Body.Bytes(), &info)
		if rec.Code != tt.status || (tt.status == 200) != (info.CSRF == csrf) {
			t.Errorf("GET /api/session with cookie %v = %d %s, want %d", tt.cookie, rec.Code, rec.Body, tt.status)
		}
	}
	// The cookie alone may not create a session (it needs the key) nor
	// reach any other route.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, browserRequest("POST", "/api/session", "", c, csrf))
	if rec.Code != http.StatusForbidden {
		t.Errorf("POST /api/session with the cookie = %d, want 403", rec.Code)
	}
}

func TestBrowserAuth(t *testing.T) {
	h := web.NewServer(webtest.New(testStatus()), testKey, nil)
	_, cookie, csrf := signIn(t, h, testKey)
	wrongCookie := &http.Cookie{Name: cookie.Name, Value: strings.Repeat("0", len(cookie.Value))}
	tests := []struct {
		name, method, path, body string
		cookie                   *http.Cookie
		csrf, key                string
		status                   int
	}{
		{"cookie and token", "GET", "/api/status", "", cookie, csrf, "", 200},
		{"cookie and token write", "POST", "/api/folders", `{"path":"/x"}`, cookie, csrf, "", 200},
		{"cookie and token delete", "DELETE", "/api/pair", "", cookie, csrf, "", 200},
		{"nothing", "GET", "/api/status", "", nil, "", "", 401},
		{"token without cookie", "GET", "/api/status", "", nil, csrf, "", 401},
		{"cookie without token", "GET", "/api/status", "", cookie, "", "", 403},
		{"cookie without token write", "POST", "/api/folders", `{"path":"/x"}`, cookie, "", "", 403},
		{"cookie with wrong token", "GET", "/api/status", "", cookie, csrf[:len(csrf)-1] + "x", "", 403},
		{"cookie value as token", "GET", "/api/status", "", cookie, cookie.Value, "", 403},
		{"wrong cookie", "GET", "/api/status", "", wrongCookie, csrf, "", 401},
		{"wrong key beats cookie", "GET", "/api/status", "", cookie, csrf, "wrong-key-wrong-key", 401},
		{"key needs no token", "POST", "/api/folders", `{"path":"/x"}`, nil, "", testKey, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := webtest.New(testStatus())
			req := browserRequest(tt.method, tt.path, tt.body, tt.cookie, tt.csrf)
			if tt.key != "" {
				req.Header.Set(web.APIKeyHeader, tt.key)
			}
			rec := httptest.NewRecorder()
			web.NewServer(b, testKey, nil).ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.status != 200 && len(b.Calls()) != 0 {
				t.Fatalf("refused request reached the backend: %v", b.Calls())
			}
		})
	}
}

func TestPageRefusals(t *testing.T) {
	page, api := []string{"/"}, []string{"/", "/api/status"}
	tests := []struct {
		name, host, remote string
		header             map[string]string
		paths              []string
	}{
		{"foreign host", "evil.com:8484", "127.0.0.1:1", nil, api},
		{"rebound host", "attacker.example", "127.0.0.1:1", nil, api},
		{"remote peer", "127.0.0.1:8484", "192.168.1.7:5000", nil, page}, // the API judges by key alone
		{"cross-site navigation", "127.0.0.1:8484", "127.0.0.1:1", map[string]string{"Sec-Fetch-Site": "cross-site"}, api},
		{"foreign origin", "127.0.0.1:8484", "127.0.0.1:1", map[string]string{"Origin": "http://evil.com"}, api},
	}
	for _, tt := range tests {
		for _, path := range tt.paths {
			req := httptest.NewRequest("GET", path, nil)
			req.Host, req.RemoteAddr = tt.host, tt.remote
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			web.NewServer(webtest.New(testStatus()), testKey, nil).ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s: GET %s = %d, want 403", tt.name, path, rec.Code)
			}
			if rec.Header().Get("Set-Cookie") != "" || strings.Contains(rec.Body.String(), "csrf") {
				t.Errorf("%s: GET %s handed out the session: %v %s", tt.name, path, rec.Header(), rec.Body)
			}
		}
	}
}

func TestPageWithoutKey(t *testing.T) {
	h := web.NewServer(webtest.New(testStatus()), "", nil)
	if rec := page(t, h); rec.Code != 200 || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("GET / without a key = %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
	if rec, cookie, csrf := signIn(t, h, "x"); rec.Code != http.StatusUnauthorized || cookie != nil || csrf != "" {
		t.Fatalf("session without a key = %d, cookie %v, token %q", rec.Code, cookie, csrf)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, browserRequest("GET", "/api/status", "", &http.Cookie{Name: "ferry_", Value: ""}, ""))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("API without a key = %d", rec.Code)
	}
}

func TestStaticFiles(t *testing.T) {
	h := web.NewServer(webtest.New(testStatus()), testKey, nil)
	tests := []struct {
		path, contentType, want string
	}{
		{"/", "text/html; charset=utf-8", `<script src="/app.js" defer></script>`},
		{"/app.js", "text/javascript; charset=utf-8", "X-CSRF-Token"},
		{"/style.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"},
	}
	for _, tt := range tests {
		rec := serve(t, h, "GET", tt.path, "")
		if rec.Code != 200 || rec.Header().Get("Content-Type") != tt.contentType || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("GET %s = %d %q, want 200 %q with %q", tt.path, rec.Code, rec.Header().Get("Content-Type"), tt.contentType, tt.want)
		}
	}
	for _, path := range []string{"/ui/app.js", "/app.js/x", "/index.html", "/favicon.ico", "/style.css/"} {
		if rec := serve(t, h, "GET", path, ""); rec.Code != 404 {
			t.Errorf("GET %s = %d, want 404", path, rec.Code)
		}
	}
}

// TestPageHasNoInlineCode keeps the page within the Content-Security-Policy:
// scripts and styles come from files, never from the page itself.
func TestPageHasNoInlineCode(t *testing.T) {
	rec := page(t, web.NewServer(webtest.New(testStatus()), testKey, nil))
	body := rec.Body.String()
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(tag, `src="/`) {
			t.Errorf("inline script %s", tag)
		}
	}
	for _, re := range []string{`<style`, `\sstyle=`, `\son[a-z]+=`, `javascript:`} {
		if m := regexp.MustCompile(re).FindString(body); m != "" {
			t.Errorf("page holds inline code: %q", m)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q lacks %q or allows unsafe code", csp, want)
		}
	}
}

func TestNoCORSHeaders(t *testing.T) {
	h := web.NewServer(webtest.New(testStatus()), testKey, nil)
	_, cookie, csrf := signIn(t, h, testKey)
	reqs := []*http.Request{
		browserRequest("GET", "/", "", nil, ""),
		browserRequest("GET", "/app.js", "", nil, ""),
		browserRequest("GET", "/api/status", "", cookie, csrf),
		browserRequest("GET", "/api/status", "", cookie, ""),
		browserRequest("POST", "/api/pair", `{}`, cookie, csrf),
		browserRequest("GET", "/api/nothing", "", cookie, csrf),
		browserRequest("GET", "/nothing", "", nil, ""),
	}
	preflight := browserRequest("OPTIONS", "/api/status", "", nil, "")
	preflight.Header.Set("Origin", "http://evil.com")
	preflight.Header.Set("Access-Control-Request-Method", "POST")
	keyed := browserRequest("GET", "/api/status", "", nil, "")
	keyed.Header.Set(web.APIKeyHeader, testKey)
	keyed.Header.Set("Origin", "http://127.0.0.1:8484")
	reqs = append(reqs, preflight, keyed)
	for _, req := range reqs {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for k := range rec.Header() {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("%s %s answered %d with %s", req.Method, req.URL.Path, rec.Code, k)
			}
		}
		io.Copy(io.Discard, rec.Body)
	}
}

// TestScriptFindsItsElements checks that every element the script looks up
// by ID exists in the page.
func TestScriptFindsItsElements(t *testing.T) {
	h := web.NewServer(webtest.New(testStatus()), testKey, nil)
	pageHTML := serve(t, h, "GET", "/", "").Body.String()
	script := serve(t, h, "GET", "/app.js", "").Body.String()
	ids := regexp.MustCompile(`(?:\$|getElementById)\('([a-z-]+)'\)`).FindAllStringSubmatch(script, -1)
	if len(ids) < 20 {
		t.Fatalf("found only %d element lookups in the script", len(ids))
	}
	for _, m := range ids {
		if !strings.Contains(pageHTML, `id="`+m[1]+`"`) {
			t.Errorf("the script uses #%s, which the page lacks", m[1])
		}
	}
}
