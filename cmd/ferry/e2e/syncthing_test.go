package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stFolderID is the folder both Syncthing instances share.
const stFolderID = "bench"

// stMarker is the directory Syncthing requires at a folder's root.
const stMarker = ".stfolder"

// stNode is one Syncthing instance driven over its REST API, configured to
// match ferry: loopback TCP only, no discovery, relays, NAT, usage or crash
// reporting, and no upgrades.
type stNode struct {
	t      testing.TB
	name   string
	home   string
	folder string
	listen string
	gui    string
	apiKey string
	id     string
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
}

// newSTNode generates a Syncthing home and an empty folder with its marker.
func newSTNode(t testing.TB, name string) *stNode {
	t.Helper()
	return newSTNodeIn(t, t.TempDir(), name)
}

// newSTNodeIn is newSTNode with the directories made in base.
func newSTNodeIn(t testing.TB, base, name string) *stNode {
	t.Helper()
	if _, err := exec.LookPath("syncthing"); err != nil {
		t.Fatalf("syncthing not installed (make bench-deps): %v", err)
	}
	n := &stNode{
		t: t, name: name, home: filepath.Join(base, "home"), folder: filepath.Join(base, "folder"),
		listen: freePort(t), gui: freePort(t), apiKey: randomKey(t),
	}
	if err := os.MkdirAll(filepath.Join(n.folder, stMarker), 0o755); err != nil {
		t.Fatal(err)
	}
	n.run("generate", "--home", n.home, "--no-default-folder", "--skip-port-probing")
	n.id = strings.TrimSpace(n.run("serve", "--home", n.home, "--device-id"))
	t.Cleanup(n.stop)
	return n
}

func randomKey(t testing.TB) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// run runs a short syncthing command and returns its stdout.
func (n *stNode) run(args ...string) string {
	n.t.Helper()
	cmd := exec.Command("syncthing", args...)
	cmd.Env = stEnv()
	var errOut lockedBuffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		n.t.Fatalf("%s: syncthing %s: %v: %s", n.name, strings.Join(args, " "), err, errOut.String())
	}
	return string(out)
}

// stEnv runs Syncthing as one process: STMONITORED skips the monitor
// parent that would otherwise restart it and outlive a stop by PID.
func stEnv() []string {
	return append(os.Environ(), "STNODEFAULTFOLDER=1", "STNOUPGRADE=1", "STNORESTART=1", "STMONITORED=yes")
}

// stPair makes a and b trust each other and share stFolderID.
func stPair(a, b *stNode) {
	a.writeConfig(b)
	b.writeConfig(a)
}

// writeConfig replaces the generated config.xml; Syncthing fills in
// defaults for everything not named here.
func (n *stNode) writeConfig(peer *stNode) {
	n.t.Helper()
	cfg := fmt.Sprintf(stConfigTemplate,
		xmlEscape(n.folder), n.id, peer.id,
		n.id, n.name, peer.id, peer.name, peer.listen,
		n.gui, n.apiKey, n.listen)
	if err := os.WriteFile(filepath.Join(n.home, "config.xml"), []byte(cfg), 0o600); err != nil {
		n.t.Fatal(err)
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// stConfigTemplate is a version 36 (Syncthing 1.19) config. Its folder has
// the watcher off (Syncthing reads folder options from the folder element's
// attributes, which this template leaves out): the sync benchmarks ask for
// rescans, and the latency benchmark turns the watcher on with stSetWatcher.
// Low priority is turned off because ferry does not lower its own.
const stConfigTemplate = `<configuration version="36">
    <folder id="bench" label="bench" path="%s" type="sendreceive">
        <filesystemType>basic</filesystemType>
        <device id="%s"></device>
        <device id="%s"></device>
    </folder>
    <device id="%s" name="%s" compression="metadata">
        <address>dynamic</address>
    </device>
    <device id="%s" name="%s" compression="metadata">
        <address>tcp://%s</address>
    </device>
    <gui enabled="true" tls="false" debugging="false">
        <address>%s</address>
        <apikey>%s</apikey>
    </gui>
    <options>
        <listenAddress>tcp://%s</listenAddress>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <startBrowser>false</startBrowser>
        <urAccepted>-1</urAccepted>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <crashReportingEnabled>false</crashReportingEnabled>
        <setLowPriority>false</setLowPriority>
    </options>
</configuration>
`

// start runs the instance and waits until its REST API answers.
func (n *stNode) start() {
	n.t.Helper()
	n.log = &lockedBuffer{}
	n.cmd = exec.Command("syncthing", "serve", "--home", n.home, "--no-browser", "--no-restart", "--no-upgrade")
	n.cmd.Env = stEnv()
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	n.cmd.WaitDelay = 5 * time.Second
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("%s: start syncthing: %v", n.name, err)
	}
	n.exited = make(chan struct{})
	go func() { n.cmd.Wait(); close(n.exited) }()
	waitFor(n.t, 60*time.Second, "syncthing "+n.name+" API up", func() bool {
		select {
		case <-n.exited:
			n.t.Fatalf("syncthing %s exited at start: %s", n.name, tail(n.log.String(), 3000))
		default:
		}
		return n.get("/rest/system/ping", nil) == nil
	})
}

// stop ends the instance with SIGTERM, then SIGKILL after 15 s.
func (n *stNode) stop() {
	if n.cmd == nil {
		return
	}
	stopProcess(n.cmd, n.exited)
	n.cmd = nil
}

// get decodes the JSON answer of a REST GET into v (unless v is nil).
func (n *stNode) get(path string, v any) error {
	return n.call(http.MethodGet, path, v)
}

func (n *stNode) post(path string) error {
	return n.call(http.MethodPost, path, nil)
}

func (n *stNode) call(method, path string, v any) error {
	req, err := http.NewRequest(method, "http://"+n.gui+path, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("X-API-Key", n.apiKey)
	client := http.Client{Timeout: 10 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if v == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}

// stDBStatus is the part of /rest/db/status the benchmarks read.
type stDBStatus struct {
	State          string `json:"state"`
	GlobalFiles    int    `json:"globalFiles"`
	GlobalBytes    int64  `json:"globalBytes"`
	LocalFiles     int    `json:"localFiles"`
	LocalBytes     int64  `json:"localBytes"`
	NeedFiles      int    `json:"needFiles"`
	NeedBytes      int64  `json:"needBytes"`
	NeedTotalItems int    `json:"needTotalItems"`
	PullErrors     int    `json:"pullErrors"`
}

func (n *stNode) dbStatus() (stDBStatus, error) {
	var s stDBStatus
	err := n.get("/rest/db/status?folder="+stFolderID, &s)
	return s, err
}

// complete reports whether the folder holds files files of at least bytes
// bytes in total, with nothing left to pull. Syncthing counts 128 bytes for
// every directory, so its byte counts exceed the file contents.
func (s stDBStatus) complete(files int, bytes int64) bool {
	return s.State == "idle" && s.NeedTotalItems == 0 &&
		s.GlobalFiles == files && s.LocalFiles == files &&
		s.GlobalBytes >= bytes && s.LocalBytes == s.GlobalBytes
}

// wireBytes returns the bytes received from plus sent to peer, as Syncthing
// counts them on the connection.
func (n *stNode) wireBytes(peer string) (int64, error) {
	var conns struct {
		Connections map[string]struct {
			Connected     bool  `json:"connected"`
			InBytesTotal  int64 `json:"inBytesTotal"`
			OutBytesTotal int64 `json:"outBytesTotal"`
		} `json:"connections"`
	}
	if err := n.get("/rest/system/connections", &conns); err != nil {
		return 0, err
	}
	c, ok := conns.Connections[peer]
	if !ok || !c.Connected {
		return 0, fmt.Errorf("%s: not connected to %s", n.name, peer)
	}
	return c.InBytesTotal + c.OutBytesTotal, nil
}

// waitComplete waits until the folder is complete, failing with both
// instances' state and logs when timeout passes.
func (n *stNode) waitComplete(timeout time.Duration, files int, bytes int64, others ...*stNode) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	var last stDBStatus
	for time.Now().Before(deadline) {
		s, err := n.dbStatus()
		if err == nil && s.complete(files, bytes) {
			return
		}
		last = s
		time.Sleep(pollEvery)
	}
	n.dump(others...)
	n.t.Fatalf("syncthing %s not complete after %v: status %+v, want %d files, %d bytes",
		n.name, timeout, last, files, bytes)
}

// dump logs the state and log tail of n and others.
func (n *stNode) dump(others ...*stNode) {
	for _, x := range append([]*stNode{n}, others...) {
		s, err := x.dbStatus()
		logs := ""
		if x.log != nil {
			logs = tail(x.log.String(), 3000)
		}
		n.t.Logf("syncthing %s status %+v (%v)\nlog:\n%s", x.name, s, err, logs)
	}
}
