package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ferry/web"
)

// TestUIPrintSignsIn: the printed address carries the key after #, and a
// browser that presents it gets a session; the page alone gives none.
func TestUIPrintSignsIn(t *testing.T) {
	d := startFakeDaemon(t)
	link := strings.TrimSpace(ok(t, d.home, "ui", "--print"))
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "http" || u.Host != d.addr || u.Path != "/" || u.RawQuery != "" || !strings.HasPrefix(u.Fragment, "key=") {
		t.Fatalf("ui --print = %q (%v)", link, err)
	}
	key, _ := web.ReadAPIKey(d.home)
	if got := strings.TrimPrefix(u.Fragment, "key="); got != key {
		t.Fatalf("link key %q, want the home's key", got)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get("http://" + d.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) != 0 {
		t.Fatalf("GET / = %d with cookies %v", resp.StatusCode, resp.Cookies())
	}
	req, _ := http.NewRequest("POST", "http://"+d.addr+"/api/session", nil)
	req.Header.Set(web.APIKeyHeader, strings.TrimPrefix(u.Fragment, "key="))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 {
		t.Fatalf("POST /api/session with the link's key = %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
}

// TestUIOpenPageIsPrivate: the page that hands the link to the browser is
// readable by this user only.
func TestUIOpenPageIsPrivate(t *testing.T) {
	home := t.TempDir()
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("PATH", t.TempDir()) // no xdg-open: nothing is started
	err := openBrowser(home, uiURL("127.0.0.1:1", "k3y"))
	if err == nil {
		t.Fatal("openBrowser without a graphical session succeeded")
	}
	t.Setenv("DISPLAY", ":99")
	openBrowser(home, uiURL("127.0.0.1:1", "k3y")) // fails to start xdg-open, after writing the page
	fi, err := os.Stat(filepath.Join(home, uiOpenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("open page: %v, %v; want mode 0600", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(home, uiOpenFile))
	if !strings.Contains(string(b), `url=http://127.0.0.1:1/#key=k3y"`) {
		t.Errorf("open page does not redirect to the link:\n%s", b)
	}
}

func TestUIWithoutDaemon(t *testing.T) {
	fails(t, t.TempDir(), "no ferry daemon is running", "ui", "--print")
}
