package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var ferryBin string

func TestMain(m *testing.M) {
	// The test binary also runs as the hostile processes of some tests.
	if addr := os.Getenv(strangerProbeEnv); addr != "" {
		os.Exit(strangerProbe(addr))
	}
	if addr := os.Getenv(floodEnv); addr != "" {
		os.Exit(strangerFlood(addr))
	}
	dir, err := os.MkdirTemp("", "ferry-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ferryBin = filepath.Join(dir, "ferry")
	if bin := os.Getenv("FERRY_BIN"); bin != "" {
		// A ferry built elsewhere, for benchmarks of an earlier version
		// against this one.
		ferryBin = bin
	} else {
		build := exec.Command("go", "build", "-o", ferryBin, "ferry/cmd/ferry")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build ferry:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// device is one ferry home with a daemon that may be running.
type device struct {
	t      testing.TB
	name   string
	home   string
	folder string
	listen string
	gui    string
	id     string
	netns  string   // network namespace the daemon and CLI run in; "" for the host's
	serve  []string // extra serve flags
	// internet lets the daemon use the DHT and port mapping, for devices
	// in namespaces whose "internet" the test made; all others keep both
	// off, so that no test reaches an outside address.
	internet bool
	wrap     []string // command that runs the daemon, e.g. setpriv and its flags
	cmd      *exec.Cmd
	log      *lockedBuffer // the daemon writes it while tests read it
	exited   chan struct{}
}

// Ports for daemons come from below the kernel's ephemeral range
// (32768 and up here), so an outgoing connection of another test or daemon
// cannot take a port between the moment it is chosen and the moment the
// daemon binds it. Each test process starts at its own offset and never hands
// out a port twice.
const portLow, portHigh = 20000, 32000

var (
	portMu   sync.Mutex
	portNext = portLow + os.Getpid()*7%(portHigh-portLow)
)

func freePort(t testing.TB) string {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range portHigh - portLow {
		port := portNext
		portNext++
		if portNext >= portHigh {
			portNext = portLow
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}

// newDevice makes a home and a folder directory and adds the folder as "docs".
func newDevice(t testing.TB, name string) *device {
	t.Helper()
	return newDeviceIn(t, t.TempDir(), name)
}

// newDeviceIn is newDevice with the directories made in base.
func newDeviceIn(t testing.TB, base, name string) *device {
	t.Helper()
	d := &device{
		t: t, name: name, home: filepath.Join(base, "home"), folder: filepath.Join(base, "folder"),
		listen: freePort(t), gui: freePort(t),
	}
	if err := os.MkdirAll(d.folder, 0o755); err != nil {
		t.Fatal(err)
	}
	d.id = strings.TrimSpace(d.ferry("id"))
	d.ferry("folder", "add", d.folder, "--id", "docs")
	t.Cleanup(func() { d.stop() })
	return d
}

// ferry runs a CLI command against this home and returns its stdout; a
// non-zero exit fails the test.
func (d *device) ferry(args ...string) string {
	d.t.Helper()
	out, errOut, code := d.try(args...)
	if code != 0 {
		d.t.Fatalf("%s: ferry %s: exit %d: %s%s", d.name, strings.Join(args, " "), code, errOut, out)
	}
	return out
}

// command makes a ferry command for this home, run in the device's network
// namespace if it has one.
func (d *device) command(args ...string) *exec.Cmd {
	args = append([]string{"--home", d.home}, args...)
	if d.netns != "" {
		return exec.Command("ip", append([]string{"netns", "exec", d.netns, ferryBin}, args...)...)
	}
	return exec.Command(ferryBin, args...)
}

func (d *device) try(args ...string) (stdout, stderr string, code int) {
	cmd := d.command(args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		d.t.Fatalf("run ferry: %v", err)
	}
	return o.String(), e.String(), 0
}

// pair makes a and b trust each other and share "docs".
func pair(a, b *device) {
	a.ferry("device", "add", b.id, "--name", b.name, "--addr", b.listen)
	b.ferry("device", "add", a.id, "--name", a.name, "--addr", a.listen)
	a.ferry("folder", "share", "docs", b.id)
	b.ferry("folder", "share", "docs", a.id)
}

// start runs the daemon and waits until its API answers.
func (d *device) start() {
	d.t.Helper()
	d.log = &lockedBuffer{}
	// Local discovery stays off: it would announce on the host's own
	// networks. Tests of it run daemons in network namespaces.
	args := []string{"serve", "--listen", d.listen, "--gui", d.gui}
	if d.netns == "" {
		args = append(args, "--no-lan")
	}
	if !d.internet {
		args = append(args, "--no-dht", "--no-portmap")
	}
	d.cmd = d.command(append(args, d.serve...)...)
	if len(d.wrap) > 0 {
		d.cmd = exec.Command(d.wrap[0], append(append(d.wrap[1:len(d.wrap):len(d.wrap)], d.cmd.Path), d.cmd.Args[1:]...)...)
	}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func() { d.cmd.Wait(); close(d.exited) }()
	waitFor(d.t, 20*time.Second, d.name+" API up", func() bool {
		select {
		case <-d.exited:
			d.t.Fatalf("%s exited at start: %s", d.name, d.log.String())
		default:
		}
		_, _, code := d.try("status", "--json")
		return code == 0
	})
}

// stop ends the daemon with SIGTERM and waits for it.
func (d *device) stop() {
	if d.cmd == nil {
		return
	}
	if !stopProcess(d.cmd, d.exited) {
		d.t.Errorf("%s did not stop within 15s of SIGTERM", d.name)
	}
	d.cmd = nil
}

// stopProcess sends SIGTERM to cmd and waits for exited, killing it after
// 15 s; it reports whether it stopped by itself.
func stopProcess(cmd *exec.Cmd, exited <-chan struct{}) bool {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
		return false
	}
}

// kill ends the daemon with SIGKILL.
func (d *device) kill() {
	d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
}

type folderStatus struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	InSync    bool   `json:"inSync"`
	NeedFiles int    `json:"needFiles"`
	NeedBytes int64  `json:"needBytes"`
	// LocalFiles and GlobalFiles count files, directories and links.
	LocalFiles  int      `json:"localFiles"`
	GlobalFiles int      `json:"globalFiles"`
	Errors      []string `json:"errors"`
	Conflicts   int      `json:"conflicts"`
	Type        string   `json:"type"`
	// Apart and ApartSample: names the folder's type keeps apart.
	Apart       int      `json:"apart"`
	ApartSample []string `json:"apartSample"`
}

type deviceStatus struct {
	ID        string `json:"id"`
	Connected bool   `json:"connected"`
	Via       string `json:"via"`
	InBytes   int64  `json:"inBytes"`
	OutBytes  int64  `json:"outBytes"`
}

// uiURL is the web UI's address with the home's API key, as `ferry ui`
// prints it.
func (d *device) uiURL() string {
	return strings.TrimSpace(d.ferry("ui", "--print"))
}

// apiGet asks the daemon's API for path with the home's API key; ok is
// false while it does not answer 200.
func (d *device) apiGet(path string) (body []byte, ok bool) {
	key, err := os.ReadFile(filepath.Join(d.home, "apikey"))
	if err != nil {
		return nil, false
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+d.gui+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("X-API-Key", strings.TrimSpace(string(key)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return body, err == nil && resp.StatusCode == http.StatusOK
}

type status struct {
	Folders []folderStatus `json:"folders"`
	Devices []deviceStatus `json:"devices"`
	Pending []struct {
		ID string `json:"id"`
	} `json:"pending"`
}

func (d *device) status() status {
	d.t.Helper()
	var s status
	if err := json.Unmarshal([]byte(d.ferry("status", "--json")), &s); err != nil {
		d.t.Fatalf("%s: status --json: %v", d.name, err)
	}
	return s
}

func (d *device) peer(id string) deviceStatus {
	for _, p := range d.status().Devices {
		if p.ID == id {
			return p
		}
	}
	d.t.Fatalf("%s: device %s not in status", d.name, id)
	return deviceStatus{}
}

func (d *device) inSync() bool {
	for _, f := range d.status().Folders {
		if !f.InSync {
			return false
		}
	}
	return true
}

// allInSync reports whether every folder of every device is in sync.
func allInSync(devs []*device) bool {
	for _, d := range devs {
		if !d.inSync() {
			return false
		}
	}
	return true
}

func (d *device) path(name string) string { return filepath.Join(d.folder, filepath.FromSlash(name)) }

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// converge scans every device and waits until all folders hold the same tree.
func converge(t testing.TB, timeout time.Duration, devs ...*device) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var diff string
	for ctx.Err() == nil {
		for _, d := range devs {
			d.ferry("scan", "docs")
		}
		diff = ""
		want, err := trySnapshot(devs[0].folder)
		if err != nil {
			// A tree that changes while it is read is not settled yet.
			diff = err.Error()
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for _, d := range devs[1:] {
			got, err := trySnapshot(d.folder)
			if err != nil {
				diff = err.Error()
				break
			}
			if diff = compare(want, got); diff != "" {
				diff = d.name + ": " + diff
				break
			}
		}
		if diff == "" {
			if allInSync(devs) {
				return
			}
			diff = "not all in sync"
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, d := range devs {
		t.Logf("%s status: %+v\nlog:\n%s", d.name, d.status(), tail(d.log.String(), 3000))
	}
	t.Fatalf("devices did not converge within %v: %s", timeout, diff)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// node is one entry of a folder snapshot.
type node struct {
	kind   string
	mode   fs.FileMode
	mtime  int64
	sum    [32]byte
	target string
}

// snapshot describes a folder tree, leaving out ferry's own names.
func snapshot(t testing.TB, root string) map[string]node {
	t.Helper()
	out, err := trySnapshot(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func trySnapshot(root string) (map[string]node, error) {
	out := map[string]node{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if strings.HasPrefix(de.Name(), ".ferry") {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := node{mode: fi.Mode().Perm()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.kind = "symlink"
			n.target, _ = os.Readlink(p)
			n.mode = 0
		case fi.IsDir():
			n.kind = "dir"
		default:
			n.kind = "file"
			n.mtime = fi.ModTime().UnixNano()
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.sum = sha256.Sum256(data)
		}
		out[filepath.ToSlash(rel)] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", root, err)
	}
	return out, nil
}

func compare(want, got map[string]node) string {
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			return fmt.Sprintf("%s missing", name)
		}
		if g != w {
			return fmt.Sprintf("%s differs: want %+v, got %+v", name, w, g)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			return fmt.Sprintf("%s unexpected", name)
		}
	}
	return ""
}
