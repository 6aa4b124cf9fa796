package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ferry/engine/config"
	"ferry/index/history"
	"ferry/platform"
	"ferry/web"
	"ferry/web/webtest"
)

// daemonHome is a home whose config points at a fake daemon's API.
type daemonHome struct {
	home    string
	addr    string
	backend *webtest.Backend
	photos  string // the directory of folder "photos" in config.json
}

// startFakeDaemon serves the API over a fake backend on a loopback port and
// writes a home that points at it through config.json's gui address.
func startFakeDaemon(t *testing.T) daemonHome {
	t.Helper()
	home := t.TempDir()
	key, err := web.LoadOrCreateAPIKey(home)
	if err != nil {
		t.Fatal(err)
	}
	b := webtest.New(web.Status{
		Device:  web.ThisDevice{ID: otherID(9), Name: "box"},
		Folders: []web.FolderStatus{{ID: "photos", Path: "/p", Type: "send-receive", State: "syncing", NeedFiles: 3, NeedBytes: 4096, GlobalFiles: 6, GlobalBytes: 16384, InRate: 2048, ETA: 2, Errors: []string{"a.jpg: permission denied"}}},
		Devices: []web.DeviceStatus{{ID: otherID(1), Name: "laptop", Connected: true, Address: "10.0.0.2:22110", Via: "lan", InBytes: 1 << 20, InRate: 1536}},
		Pending: []web.PendingDevice{{ID: otherID(7), Address: "10.0.0.7:5000", LastSeen: "2025-05-01T12:00:00Z"}},
	})
	srv := httptest.NewServer(web.NewServer(b, key, nil))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	cfg := config.Default()
	cfg.GUI = addr
	photos := t.TempDir()
	cfg.Folders = []config.Folder{{ID: "photos", Path: photos, Type: config.SendReceive}}
	if err := config.Save(home, cfg); err != nil {
		t.Fatal(err)
	}
	return daemonHome{home: home, addr: addr, backend: b, photos: photos}
}

func TestCommandsGoThroughTheAPI(t *testing.T) {
	d := startFakeDaemon(t)
	got := ok(t, d.home, "status", "--json")
	if want := rawStatus(t, d); got != want {
		t.Fatalf("status --json:\n%s\nwant exactly the API's answer:\n%s", got, want)
	}
	human := ok(t, d.home, "status")
	for _, want := range []string{"photos  /p  (send-receive)", "syncing   [##################------]  75%  3 files, 4.0 KiB left",
		"rate      2.0 KiB/s, about 2s left", "global    6 files, 16.0 KiB", "error     a.jpg: permission denied",
		otherID(1) + "  (laptop)", "connected 10.0.0.2:22110 (lan)   in 1.5 KiB/s  out 0 B/s", "received  1.0 MiB, sent 0 B",
		"Pending device " + otherID(7), "last at 2025-05-01T12:00:00Z", "trust it with: ferry device add " + otherID(7)} {
		if !strings.Contains(human, want) {
			t.Errorf("status lacks %q:\n%s", want, human)
		}
	}
	dev := otherID(2)
	ok(t, d.home, "device", "add", dev, "--name", "nas", "--addr", "nas:1", "--addr", "nas:2")
	fails(t, d.home, "device "+dev+" already added", "device", "add", dev)
	ok(t, d.home, "folder", "share", "photos", dev)
	ok(t, d.home, "device", "remove", dev)
	if id := ok(t, d.home, "folder", "add", t.TempDir(), "--type", "send-only"); id != "folder-2\n" {
		t.Fatalf("folder add printed %q, want the daemon's ID", id)
	}
	ok(t, d.home, "scan", "photos", "sub/dir/")
	fails(t, d.home, `folder "nope" does not exist. See`+" `ferry folder list`", "scan", "nope")
	ok(t, d.home, "folder", "resume", "photos")
	ok(t, d.home, "folder", "confirm-deletes", "photos")
	ok(t, d.home, "folder", "revert", "photos")
	ok(t, d.home, "folder", "override", "photos")
	ok(t, d.home, "folder", "guard", "photos", "100/40")
	ok(t, d.home, "folder", "guard", "photos", "off")
	ok(t, d.home, "folder", "guard", "photos", "default")
	if r := ferry(t, d.home, "folder", "guard", "photos", "lots"); r.code != exitUsage {
		t.Errorf("folder guard with a bad rule: exit %d, want %d", r.code, exitUsage)
	}
	ok(t, d.home, "folder", "set", "photos", "--type", "receive-only")
	ok(t, d.home, "folder", "set", "photos", "--keep", "24H:all, forever:monthly")
	if r := ferry(t, d.home, "folder", "set", "photos", "--keep", "30x:daily"); r.code != exitUsage || !strings.Contains(r.stderr, `unknown unit "x"`) {
		t.Errorf("folder set --keep 30x:daily: exit %d, %q", r.code, r.stderr)
	}
	moved := t.TempDir()
	ok(t, d.home, "folder", "set", "photos", "--path", moved, "--label", "Family", "--scan-interval", "2h")
	fails(t, d.home, "does not exist", "folder", "set", "photos", "--path", filepath.Join(moved, "nowhere"))
	if r := ferry(t, d.home, "folder", "set", "photos", "--scan-interval", "often"); r.code != exitUsage {
		t.Errorf("folder set --scan-interval often: exit %d, want %d", r.code, exitUsage)
	}
	ok(t, d.home, "folder", "pause", "photos")
	ok(t, d.home, "device", "rename", otherID(1), "work laptop")
	ok(t, d.home, "device", "pause", otherID(1))
	ok(t, d.home, "device", "resume", otherID(1))
	ok(t, d.home, "device", "set", otherID(1), "--addr", "10.0.0.2:22110", "--addr", "laptop.lan:22110")
	ok(t, d.home, "device", "set", otherID(1), "--discover")
	ok(t, d.home, "device", "set", otherID(1), "--max-send", "2M", "--max-recv", "500K")
	if r := ferry(t, d.home, "device", "set", otherID(1), "--max-send", "lots"); r.code != exitUsage {
		t.Errorf("device set --max-send lots: exit %d, want %d", r.code, exitUsage)
	}
	if r := ferry(t, d.home, "device", "set", otherID(1)); r.code != exitUsage {
		t.Errorf("device set without a change: exit %d, want %d", r.code, exitUsage)
	}
	fails(t, d.home, "not shared", "folder", "unshare", "photos", otherID(1))
	if out := ok(t, d.home, "folder", "offered", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("folder offered --json = %q, want []", out)
	}
	acceptDir := t.TempDir()
	fails(t, d.home, "does not offer", "folder", "accept", otherID(1), "music", acceptDir)
	photo := filepath.Join(d.photos, "sub", "x.jpg")
	if out := ok(t, d.home, "versions", photo); !strings.Contains(out, "current") {
		t.Errorf("versions printed %q", out)
	}
	restoreTo := t.TempDir()
	ok(t, d.home, "restore", photo, "--version", "3", "--to", restoreTo)
	for _, args := range [][]string{{"restore", photo}, {"restore", photo, "--version", "3", "--at", "2h ago"}, {"restore", photo, "--at", "soon"}} {
		if r := ferry(t, d.home, args...); r.code != exitUsage {
			t.Errorf("ferry %q: exit %d, want %d", args, r.code, exitUsage)
		}
	}
	folderTo := t.TempDir()
	if out := ok(t, d.home, "restore", "--folder", "photos", "--at", "2026-12-01T18:00:00Z", "--to", folderTo); !strings.Contains(out, "2 files written") {
		t.Errorf("restore --folder printed %q", out)
	}
	for _, args := range [][]string{{"restore", "--folder", "photos"}, {"restore", "--folder", "photos", "--version", "2"},
		{"restore", photo, "--folder", "photos", "--at", "2h ago"}, {"restore", "--folder", "photos", "--at", "2h ago", "--exact", "--to", folderTo},
		{"restore", photo, "--at", "2h ago", "--exact"}} {
		if r := ferry(t, d.home, args...); r.code != exitUsage {
			t.Errorf("ferry %q: exit %d, want %d", args, r.code, exitUsage)
		}
	}
	if r := ferry(t, d.home, "versions", "/nowhere/x.jpg"); r.code != exitError || !strings.Contains(r.stderr, "not inside a synced folder") {
		t.Errorf("versions of a path outside the folders: exit %d, %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"folder", "set", "photos"}, {"folder", "set", "photos", "--type", "backup"}} {
		if r := ferry(t, d.home, args...); r.code != exitUsage {
			t.Errorf("ferry %q: exit %d, want %d", args, r.code, exitUsage)
		}
	}
	ok(t, d.home, "folder", "remove", "photos", "--forget")

	calls := d.backend.Calls()
	for _, want := range []string{
		"AddDevice " + dev + " nas nas:1,nas:2",
		"ShareFolder photos " + dev,
		"RemoveDevice " + dev,
		"Scan photos sub/dir",
		"FolderAction photos resume",
		"FolderAction photos confirm-deletes",
		"FolderAction photos revert",
		"FolderAction photos override",
		"SetFolder photos {DeleteGuard:<nil> DefaultDeleteGuard:true Type: Keep:}",
		"SetFolder photos {DeleteGuard:<nil> DefaultDeleteGuard:false Type:receive-only Keep:}",
		"SetFolder photos {DeleteGuard:<nil> DefaultDeleteGuard:false Type: Keep:24h:all,forever:monthly}",
		"Versions photos sub/x.jpg",
		"Restore photos sub/x.jpg 3 0001-01-01T00:00:00Z " + restoreTo,
		"RestoreFolder photos 2026-12-01T18:00:00Z " + folderTo + " false",
		"SetFolder photos {DeleteGuard:<nil> DefaultDeleteGuard:false Type: Keep: Path:" + moved + ` Label:"Family" ScanInterval:2h0m0s}`,
		"FolderAction photos pause",
		"SetDevice " + otherID(1) + " name=work laptop",
		"SetDevice " + otherID(1) + " paused=true",
		"SetDevice " + otherID(1) + " paused=false",
		"SetDevice " + otherID(1) + " addrs=10.0.0.2:22110,laptop.lan:22110",
		"SetDevice " + otherID(1) + " addrs=",
		"SetDevice " + otherID(1) + " maxSend=2097152 maxRecv=512000",
		"UnshareFolder photos " + otherID(1),
		"AcceptFolder " + otherID(1) + " music " + acceptDir,
		"RemoveFolder photos forget=true",
	} {
		if !slices.Contains(calls, want) {
			t.Errorf("backend calls %q lack %q", calls, want)
		}
	}
	if cfg, _ := config.Load(d.home); len(cfg.Devices) != 0 || len(cfg.Folders) != 1 || cfg.Folders[0].Type != config.SendReceive || cfg.Folders[0].Keep != (history.Policy{}) {
		t.Fatalf("config.json was edited although a daemon runs: %+v", cfg)
	}
}

// rawStatus fetches /api/status the way any HTTP client would.
func rawStatus(t *testing.T, d daemonHome) string {
	t.Helper()
	key, _ := web.ReadAPIKey(d.home)
	req, _ := http.NewRequest("GET", "http://"+d.addr+"/api/status", nil)
	req.Header.Set(web.APIKeyHeader, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func TestRecordedAPIAddressWins(t *testing.T) {
	d := startFakeDaemon(t)
	cfg, _ := config.Load(d.home)
	cfg.GUI = closedPort(t)
	if err := config.Save(d.home, cfg); err != nil {
		t.Fatal(err)
	}
	if err := writeAPIAddr(d.home, d.addr); err != nil {
		t.Fatal(err)
	}
	ok(t, d.home, "status")
	removeAPIAddr(d.home, "127.0.0.1:1") // another daemon's: kept
	ok(t, d.home, "status")
	removeAPIAddr(d.home, d.addr)
	fails(t, d.home, "no ferry daemon is running", "status")
}

func TestWrongAPIKey(t *testing.T) {
	d := startFakeDaemon(t)
	if err := os.WriteFile(filepath.Join(d.home, web.APIKeyFile), []byte("another-key-from-another-home\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, d.home, "refused the API key", "status")
	fails(t, d.home, "refused the API key", "device", "add", otherID(5))
}

func TestDirectEditRefusedWhileHomeIsLocked(t *testing.T) {
	home := t.TempDir()
	cfg := config.Default()
	cfg.GUI = closedPort(t)
	if err := config.Save(home, cfg); err != nil {
		t.Fatal(err)
	}
	writeKey(t, home)
	unlock, err := platform.LockHome(home)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	fails(t, home, "already running", "device", "add", otherID(6))
}

func TestAPIAddr(t *testing.T) {
	home := t.TempDir()
	tests := map[string]string{
		"127.0.0.1:8484": "127.0.0.1:8484",
		"0.0.0.0:8484":   "127.0.0.1:8484",
		":8484":          "127.0.0.1:8484",
		"[::]:8484":      "[::1]:8484",
		"[::1]:9":        "[::1]:9",
		"localhost:1":    "localhost:1",
	}
	for gui, want := range tests {
		if got := apiAddr(home, config.Config{GUI: gui}); got != want {
			t.Errorf("apiAddr(%q) = %q, want %q", gui, got, want)
		}
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeKey(t *testing.T, home string) {
	t.Helper()
	if _, err := web.LoadOrCreateAPIKey(home); err != nil {
		t.Fatal(err)
	}
}
