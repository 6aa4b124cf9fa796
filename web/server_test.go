package web_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ferry/proto"
	"ferry/web"
	"ferry/web/webtest"
)

const testKey = "0123456789abcdef0123456789abcdef"

var (
	devA = proto.DeviceID{1}.String()
	devB = proto.DeviceID{2}.String()
)

func testStatus() web.Status {
	return web.Status{
		Device:  web.ThisDevice{ID: proto.DeviceID{9}.String(), Name: "box"},
		Folders: []web.FolderStatus{{ID: "photos", Path: "/p", Type: "send-receive", State: web.StateIdle, InSync: true}},
		Devices: []web.DeviceStatus{{ID: devA, Name: "laptop", Connected: true, Address: "10.0.0.2:22110", InBytes: 5, OutBytes: 7}},
	}
}

// serve sends one request with the key and a loopback Host.
func serve(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1:8484"+path, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set(web.APIKeyHeader, testKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRoutes(t *testing.T) {
	tests := []routeTest{
		{"ping", "GET", "/api/ping", "", 200, `"ok": true`, ""},
		{"status", "GET", "/api/status", "", 200, `"errors": []`, "Status"},
		{"scan", "POST", "/api/scan", `{"folder":"photos","path":"a/b"}`, 200, `"ok": true`, "Scan photos a/b"},
		{"scan unknown", "POST", "/api/scan", `{"folder":"nope"}`, 404, `folder \"nope\" does not exist`, "Scan nope "},
		{"scan no folder", "POST", "/api/scan", `{}`, 400, "missing folder", ""},
		{"scan no body", "POST", "/api/scan", ``, 400, "missing JSON", ""},
		{"scan unknown field", "POST", "/api/scan", `{"folder":"photos","recursive":true}`, 400, "unknown field", ""},
		{"scan trailing data", "POST", "/api/scan", `{"folder":"photos"} {}`, 400, "after the JSON value", ""},
		{"scan bad json", "POST", "/api/scan", `{"folder":`, 400, "invalid JSON", ""},
		{"add device", "POST", "/api/devices", `{"id":"` + strings.ToLower(devB) + `","name":"nas","addrs":["nas:22110"]}`, 200, `"ok"`, "AddDevice " + devB + " nas nas:22110"},
		{"add device twice", "POST", "/api/devices", `{"id":"` + devA + `"}`, 400, "already added", "AddDevice " + devA + "  "},
		{"add device typo", "POST", "/api/devices", `{"id":"` + devA[:10] + "X" + devA[11:] + `"}`, 400, "invalid device ID", ""},
		{"add device no id", "POST", "/api/devices", `{"name":"x"}`, 400, "missing device ID", ""},
		{"remove device", "DELETE", "/api/devices/" + devA, "", 200, `"ok"`, "RemoveDevice " + devA},
		{"remove unknown device", "DELETE", "/api/devices/" + devB, "", 404, "not a known device", "RemoveDevice " + devB},
		{"remove bad device", "DELETE", "/api/devices/ABC", "", 400, "invalid device ID", ""},
		{"add folder", "POST", "/api/folders", `{"path":"/docs","type":"send-only"}`, 200, `"id": "folder-2"`, "AddFolder  /docs send-only"},
		{"add folder twice", "POST", "/api/folders", `{"id":"photos","path":"/p2"}`, 400, "already exists", "AddFolder photos /p2 "},
		{"add folder no path", "POST", "/api/folders", `{"id":"x"}`, 400, "missing path", ""},
		{"share", "POST", "/api/folders/photos/share", `{"device":"` + devA + `"}`, 200, `"ok"`, "ShareFolder photos " + devA},
		{"share unknown folder", "POST", "/api/folders/nope/share", `{"device":"` + devA + `"}`, 404, "does not exist", "ShareFolder nope " + devA},
		{"share bad device", "POST", "/api/folders/photos/share", `{"device":"x"}`, 400, "invalid device ID", ""},
		{"pause folder", "POST", "/api/folders/photos/pause", "", 200, `"ok"`, "FolderAction photos pause"},
		{"remove folder", "DELETE", "/api/folders/photos", "", 200, `"ok"`, "RemoveFolder photos forget=false"},
		{"remove folder forget", "DELETE", "/api/folders/photos?forget=true", "", 200, `"ok"`, "RemoveFolder photos forget=true"},
		{"remove folder bad forget", "DELETE", "/api/folders/photos?forget=maybe", "", 400, "forget wants", ""},
		{"remove unknown folder", "DELETE", "/api/folders/nope", "", 404, "does not exist", "RemoveFolder nope forget=false"},
		{"unshare", "DELETE", "/api/folders/photos/devices/" + devA, "", 404, "not shared", "UnshareFolder photos " + devA},
		{"unshare bad device", "DELETE", "/api/folders/photos/devices/xyz", "", 400, "invalid device ID", ""},
		{"rename device", "PATCH", "/api/devices/" + strings.ToLower(devA), `{"name":"phone"}`, 200, `"ok"`, "SetDevice " + devA + " name=phone"},
		{"pause device", "PATCH", "/api/devices/" + devA, `{"paused":true,"addrs":[]}`, 200, `"ok"`, "SetDevice " + devA + " addrs= paused=true"},
		{"set unknown device", "PATCH", "/api/devices/" + devB, `{"paused":true}`, 404, "not a known device", "SetDevice " + devB + " paused=true"},
		{"set device unknown field", "PATCH", "/api/devices/" + devA, `{"nick":"x"}`, 400, "unknown field", ""},
		{"accept not offered", "POST", "/api/offered", `{"device":"` + devA + `","folder":"music","path":"/m"}`, 404, "does not offer", "AcceptFolder " + devA + " music /m"},
		{"accept no folder", "POST", "/api/offered", `{"device":"` + devA + `"}`, 400, "missing folder", ""},
		{"accept bad device", "POST", "/api/offered", `{"device":"x","folder":"music"}`, 400, "invalid device ID", ""},
		{"wrong method", "GET", "/api/scan", "", 405, "method not allowed", ""},
		{"wrong method on pattern", "PUT", "/api/devices/" + devA, "", 405, "method not allowed", ""},
		{"wrong method on folder", "PUT", "/api/folders/photos", "", 405, "method not allowed", ""},
		{"unknown api route", "GET", "/api/nothing", "", 404, "no such page", ""},
		{"unknown page", "GET", "/index.html", "", 404, "no such page", ""},
		{"post to the page", "POST", "/", "", 404, "no such page", ""},
	}
	runRouteTests(t, testStatus(), tests)
}

// routeTest is one request to the API and what it must answer.
type routeTest struct {
	name, method, path, body string
	status                   int
	want                     string // substring of the answer
	call                     string // the backend call made, "" for none
}

// runRouteTests sends each request to a new server over a fake backend with
// status st and checks the answer and the backend call.
func runRouteTests(t *testing.T, st web.Status, tests []routeTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := webtest.New(st)
			rec := serve(t, web.NewServer(b, testKey, nil), tt.method, tt.path, tt.body)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, rec.Code, rec.Body, tt.status, tt.want)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if rec.Code >= 400 {
				var e struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error answer is not {\"error\":...}: %s", rec.Body)
				}
			}
			calls := b.Calls()
			if tt.call == "" && len(calls) != 0 || tt.call != "" && (len(calls) != 1 || calls[0] != tt.call) {
				t.Errorf("backend calls = %q, want %q", calls, tt.call)
			}
		})
	}
}

func TestStatusListsAreNeverNull(t *testing.T) {
	b := webtest.New(web.Status{Folders: []web.FolderStatus{{ID: "f"}}})
	rec := serve(t, web.NewServer(b, testKey, nil), "GET", "/api/status", "")
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"folders", "devices", "pending", "offered"} {
		if _, ok := raw[k].([]any); !ok {
			t.Errorf("%s = %v, want a list", k, raw[k])
		}
	}
	folder := raw["folders"].([]any)[0].(map[string]any)
	for _, k := range []string{"errors", "devices"} {
		if _, ok := folder[k].([]any); !ok {
			t.Errorf("folder %s = %v, want a list", k, folder[k])
		}
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		err    error
		status int
	}{
		{web.BadRequest(errors.New("bad path")), 400},
		{web.NotFound(errors.New("no such folder")), 404},
		{errors.New("disk on fire"), 500},
	}
	for _, tt := range tests {
		b := webtest.New(testStatus())
		b.FailWith(tt.err)
		for _, rt := range []struct{ method, path, body string }{
			{"GET", "/api/status", ""},
			{"POST", "/api/scan", `{"folder":"photos"}`},
			{"POST", "/api/folders", `{"path":"/x"}`},
		} {
			rec := serve(t, web.NewServer(b, testKey, nil), rt.method, rt.path, rt.body)
			want := `{"error":"` + tt.err.Error() + `"}`
			if rec.Code != tt.status || compact(t, rec.Body.Bytes()) != want {
				t.Errorf("%s %s with %v = %d %s, want %d %s", rt.method, rt.path, tt.err, rec.Code, rec.Body, tt.status, want)
			}
		}
	}
}

func compact(t *testing.T, data []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("not JSON: %s", data)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name, serverKey, key, path string
		status                     int
	}{
		{"right key", testKey, testKey, "/api/ping", 200},
		{"missing key", testKey, "", "/api/ping", 401},
		{"wrong key", testKey, testKey[:31] + "0", "/api/status", 401},
		{"key prefix", testKey, testKey[:8], "/api/status", 401},
		{"unknown route needs key too", testKey, "", "/api/nothing", 401},
		{"server without key", "", "", "/api/ping", 401},
		{"outside the api", testKey, "", "/index.html", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := webtest.New(testStatus())
			req := httptest.NewRequest("GET", "http://localhost:8484"+tt.path, nil)
			if tt.key != "" {
				req.Header.Set(web.APIKeyHeader, tt.key)
			}
			rec := httptest.NewRecorder()
			web.NewServer(b, tt.serverKey, nil).ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.status == 401 && len(b.Calls()) != 0 {
				t.Fatalf("backend called without a key: %v", b.Calls())
			}
		})
	}
}

func TestHostAndOrigin(t *testing.T) {
	tests := []struct {
		host   string
		header map[string]string
		status int
	}{
		{"localhost", nil, 200},
		{"LocalHost:8484", nil, 200},
		{"127.0.0.1:8484", nil, 200},
		{"127.3.4.5", nil, 200},
		{"[::1]:8484", nil, 200},
		{"[::1]", nil, 200},
		{"[::ffff:127.0.0.1]:80", nil, 200},
		{"evil.com", nil, 403},
		{"evil.com:8484", nil, 403},
		{"127.0.0.1.evil.com", nil, 403},
		{"localhost.evil.com:8484", nil, 403},
		{"192.168.1.10:8484", nil, 403},
		{"0.0.0.0:8484", nil, 403},
		{"[fe80::1%25eth0]:8484", nil, 403},
		{"", nil, 403},
		{"127.0.0.1:8484", map[string]string{"Origin": "http://127.0.0.1:8484"}, 200},
		{"localhost:8484", map[string]string{"Origin": "http://LOCALHOST:8484"}, 200},
		{"127.0.0.1:8484", map[string]string{"Origin": "http://evil.com"}, 403},
		{"127.0.0.1:8484", map[string]string{"Origin": "http://localhost:8484"}, 403},
		{"127.0.0.1:8484", map[string]string{"Origin": "http://127.0.0.1:9999"}, 403},
		{"127.0.0.1:8484", map[string]string{"Origin": "null"}, 403},
		{"127.0.0.1:8484", map[string]string{"Origin": ""}, 403},
		{"127.0.0.1:8484", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"127.0.0.1:8484", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"127.0.0.1:8484", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/api/ping", nil)
		req.Host = tt.host
		req.Header.Set(web.APIKeyHeader, testKey)
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		web.NewServer(webtest.New(testStatus()), testKey, nil).ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("Host %q %v: status %d %s, want %d", tt.host, tt.header, rec.Code, rec.Body, tt.status)
		}
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Host %q: CORS header %q", tt.host, got)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, path := range []string{"/api/ping", "/", "/api/nothing"} {
		rec := serve(t, web.NewServer(webtest.New(testStatus()), testKey, nil), "GET", path, "")
		h := rec.Header()
		if !strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'self';") || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	b := webtest.New(testStatus())
	body := `{"id":"` + devB + `","name":"` + strings.Repeat("x", 2<<20) + `"}`
	rec := serve(t, web.NewServer(b, testKey, nil), "POST", "/api/devices", body)
	if rec.Code != http.StatusRequestEntityTooLarge || len(b.Calls()) != 0 {
		t.Fatalf("status %d %s, calls %v", rec.Code, rec.Body, b.Calls())
	}
}

// FuzzRequestBody posts arbitrary bodies to every route that reads one: the
// answer is always JSON and never a server error.
func FuzzRequestBody(f *testing.F) {
	f.Add(`{"folder":"photos","path":"x"}`)
	f.Add(`{"id":"` + devB + `","addrs":["a:1"]}`)
	f.Add(`{"path":"/x","type":"send-only"}`)
	f.Add(`{"device":"` + devA + `"}`)
	f.Add(`[1,2,{"a":null}]`)
	f.Add(`{"folders":["photos"],"ttl":"5m"}`)
	f.Add(`{"code":"7-harbor-tulip","addr":"h:1","into":"/x","folders":{"docs":"/d"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/api/scan", "/api/devices", "/api/folders", "/api/folders/photos/share", "/api/pair", "/api/pair/join"} {
			rec := serve(t, web.NewServer(webtest.New(testStatus()), testKey, nil), "POST", path, body)
			if rec.Code >= 500 {
				t.Fatalf("POST %s %q = %d %s", path, body, rec.Code, rec.Body)
			}
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("POST %s: answer is not JSON: %s", path, rec.Body)
			}
		}
	})
}
