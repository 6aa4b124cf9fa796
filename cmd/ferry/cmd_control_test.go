package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/engine/config"
	"ferry/index"
	"ferry/proto"
)

// Without a daemon, the everyday controls edit config.json.
func TestControlsWithoutDaemon(t *testing.T) {
	home, root := t.TempDir(), t.TempDir()
	docs, moved := filepath.Join(root, "docs"), filepath.Join(root, "moved")
	for _, d := range []string{docs, moved} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dev := otherID(1)
	ok(t, home, "device", "add", dev, "--name", "laptop")
	ok(t, home, "folder", "add", docs)
	ok(t, home, "folder", "share", "docs", dev)

	// The folder's index, as a daemon left it.
	db, err := index.Open(filepath.Join(home, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := db.Folder("docs")
	if err == nil {
		err = idx.SetRoot(docs, 7)
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	ok(t, home, "folder", "pause", "docs")
	ok(t, home, "folder", "set", "docs", "--path", moved, "--label", "My docs", "--scan-interval", "45m")
	// The index moves with the folder, so a daemon keeps it.
	if db, err = index.Open(filepath.Join(home, "index.db")); err != nil {
		t.Fatal(err)
	}
	idx, _ = db.Folder("docs")
	root, fsDev, err := idx.Root()
	db.Close()
	if err != nil || root != moved || fsDev != 7 {
		t.Fatalf("index root after set --path: %q %d %v; want %q 7", root, fsDev, err, moved)
	}
	ok(t, home, "device", "rename", dev, "phone")
	ok(t, home, "device", "pause", dev)
	ok(t, home, "device", "set", dev, "--addr", "192.0.2.1:22110", "--max-recv", "1M")
	cfg, err := config.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := cfg.Folder("docs")
	d, _ := cfg.Device(proto.DeviceID{1, 1, 2, 3})
	if !f.Paused || f.Path != moved || f.Label != "My docs" || f.ScanInterval != config.Duration(45*time.Minute) {
		t.Fatalf("folder settings: %+v", f)
	}
	if d.Name != "phone" || !d.Paused || len(d.Addrs) != 1 || d.Addrs[0] != "192.0.2.1:22110" || d.MaxRecv != 1<<20 || d.MaxSend != 0 {
		t.Fatalf("device settings: %+v", d)
	}
	if list := ok(t, home, "folder", "list"); !strings.Contains(list, "paused") || !strings.Contains(list, `"My docs"`) {
		t.Fatalf("folder list:\n%s", list)
	}
	var folders []config.Folder
	if err := json.Unmarshal([]byte(ok(t, home, "folder", "list", "--json")), &folders); err != nil || len(folders) != 1 || folders[0].ID != "docs" {
		t.Fatalf("folder list --json: %v %+v", err, folders)
	}
	var devices []config.Device
	if err := json.Unmarshal([]byte(ok(t, home, "device", "list", "--json")), &devices); err != nil || len(devices) != 1 || !devices[0].Paused {
		t.Fatalf("device list --json: %v %+v", err, devices)
	}

	// Resuming a paused folder unpauses it and leaves the directory as
	// it is: the marker is checked when the folder opens.
	ok(t, home, "folder", "resume", "docs")
	if _, err := os.Stat(filepath.Join(moved, ".ferry")); err == nil {
		t.Fatal("resuming a paused folder made a marker in its directory")
	}
	ok(t, home, "device", "resume", dev)
	ok(t, home, "folder", "unshare", "docs", dev)
	fails(t, home, "not shared", "folder", "unshare", "docs", dev)
	cfg, _ = config.Load(home)
	if f, _ := cfg.Folder("docs"); f.Paused || len(f.Devices) != 0 {
		t.Fatalf("after resume and unshare: %+v", f)
	}
	if d, _ := cfg.Device(proto.DeviceID{1, 1, 2, 3}); d.Paused {
		t.Fatal("device still paused")
	}

	// remove --forget drops the folder's index.
	ok(t, home, "folder", "remove", "docs", "--forget")
	fails(t, home, "does not exist", "folder", "remove", "docs")
	if db, err = index.Open(filepath.Join(home, "index.db")); err != nil {
		t.Fatal(err)
	}
	ids, err := db.Folders()
	db.Close()
	if err != nil || len(ids) != 0 {
		t.Fatalf("index still has folders %q after remove --forget (%v)", ids, err)
	}
	if _, err := os.Stat(docs); err != nil {
		t.Fatalf("remove touched the files: %v", err)
	}
	if r := ferry(t, home, "folder", "offered"); r.code != exitError || !strings.Contains(r.stderr, "no ferry daemon") {
		t.Fatalf("folder offered without a daemon: %+v", r)
	}
}

func TestHelpDocumentsSubcommandFlags(t *testing.T) {
	for _, tc := range []struct{ args, want []string }{
		{[]string{"help", "folder", "set"}, []string{"--path DIR", "--label TEXT", "--scan-interval DURATION", "--keep POLICY"}},
		{[]string{"help", "folder", "remove"}, []string{"--forget"}},
		{[]string{"help", "device", "set"}, []string{"--addr HOST:PORT", "--discover", "--name NAME"}},
		{[]string{"help", "folder", "list"}, []string{"--json"}},
		{[]string{"help", "folder"}, []string{"folder pause", "folder accept DEVICE-ID FOLDER-ID [PATH]", "ferry help folder COMMAND"}},
	} {
		out := ok(t, t.TempDir(), tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("ferry %s lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}

// Every command that prints something prints JSON with --json.
func TestJSONOutput(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	decode := func(args ...string) map[string]string {
		t.Helper()
		var m map[string]string
		if err := json.Unmarshal([]byte(ok(t, home, args...)), &m); err != nil {
			t.Fatalf("ferry %s --json: %v", strings.Join(args, " "), err)
		}
		return m
	}
	id := strings.TrimSpace(ok(t, home, "id"))
	if m := decode("id", "--json"); m["id"] != id {
		t.Errorf("id --json = %v, want %s", m, id)
	}
	if m := decode("version", "--json"); m["version"] == "" || m["go"] == "" || m["os"] == "" {
		t.Errorf("version --json = %v", m)
	}
	if m := decode("folder", "add", dir, "--id", "stuff", "--json"); m["id"] != "stuff" {
		t.Errorf("folder add --json = %v", m)
	}
}
