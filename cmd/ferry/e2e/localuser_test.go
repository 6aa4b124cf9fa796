package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// strangerProbeEnv makes the test binary, run as another user, probe the
// daemon's web UI and API at the address it holds instead of running tests.
const strangerProbeEnv = "FERRY_E2E_STRANGER_PROBE"

// probeResult is what another user on the machine got from the daemon.
type probeResult struct {
	PageStatus    int      `json:"pageStatus"`
	PageCookies   []string `json:"pageCookies"`
	SessionStatus int      `json:"sessionStatus"`
	AddDevice     int      `json:"addDevice"`
	AddFolder     int      `json:"addFolder"`
	Status        int      `json:"status"`
	KeyReadErr    string   `json:"keyReadErr"`
}

// strangerProbe does what a hostile local user would: load the page, keep
// whatever it hands out, and use it to add a device and share /etc.
func strangerProbe(addr string) int {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	var res probeResult
	do := func(method, path, body string, extra map[string]string) int {
		req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if err != nil {
			return -1
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if path == "/" {
			for _, ck := range resp.Cookies() {
				res.PageCookies = append(res.PageCookies, ck.Name)
			}
			// Whatever token the page might carry is tried too.
			if i := strings.Index(string(b), `name="csrf-token" content="`); i >= 0 {
				tok := string(b[i+len(`name="csrf-token" content="`):])
				extra["X-CSRF-Token"] = tok[:strings.IndexByte(tok, '"')]
			}
		}
		return resp.StatusCode
	}
	hdr := map[string]string{}
	res.PageStatus = do("GET", "/", "", hdr)
	res.SessionStatus = do("POST", "/api/session", "", map[string]string{"X-API-Key": "guess-guess-guess-guess"})
	res.AddDevice = do("POST", "/api/devices", `{"id":"`+os.Getenv(strangerProbeEnv+"_DEVICE")+`","name":"evil"}`, hdr)
	res.AddFolder = do("POST", "/api/folders", `{"path":"/etc","id":"etc"}`, hdr)
	res.Status = do("GET", "/api/status", "", hdr)
	if _, err := os.ReadFile(os.Getenv(strangerProbeEnv + "_KEYFILE")); err != nil {
		res.KeyReadErr = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// TestOtherUserGetsNoAPIAccess: another user of the machine (uid 65534)
// reaches the daemon's loopback port but gets no session from the page, and
// so cannot add a device or a folder; the key file is out of its reach.
func TestOtherUserGetsNoAPIAccess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running the probe as another user needs root")
	}
	a := newDevice(t, "A")
	a.start()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The probe runs from a copy any user may execute.
	dir, err := os.MkdirTemp("", "ferry-probe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	probe := filepath.Join(dir, "probe")
	copyFile(t, self, probe, 0o755)
	evil := newDevice(t, "evil")
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", probe)
	cmd.Dir = dir
	cmd.Env = []string{strangerProbeEnv + "=" + a.gui, strangerProbeEnv + "_DEVICE=" + evil.id,
		strangerProbeEnv + "_KEYFILE=" + filepath.Join(a.home, "apikey"), "HOME=/nonexistent"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe as uid 65534: %v\n%s", err, out)
	}
	var res probeResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("probe output %q: %v", out, err)
	}
	t.Logf("probe as uid 65534: %+v", res)
	if res.PageStatus != 200 {
		t.Errorf("the page answered %d; it should load (it holds no secret)", res.PageStatus)
	}
	if len(res.PageCookies) != 0 || res.SessionStatus != http.StatusUnauthorized {
		t.Errorf("the page handed out cookies %v, or a guessed key got a session (%d)", res.PageCookies, res.SessionStatus)
	}
	for what, code := range map[string]int{"add a device": res.AddDevice, "add /etc": res.AddFolder, "read the status": res.Status} {
		if code != http.StatusUnauthorized {
			t.Errorf("another user could %s: HTTP %d, want 401", what, code)
		}
	}
	if res.KeyReadErr == "" {
		t.Error("another user could read the API key")
	}
	st := a.status()
	for _, d := range st.Devices {
		if d.ID == evil.id {
			t.Error("the probe's device was added")
		}
	}
	for _, f := range st.Folders {
		if f.ID == "etc" {
			t.Error("/etc became a folder")
		}
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(fmt.Errorf("copy %s: %w", from, err))
	}
}
