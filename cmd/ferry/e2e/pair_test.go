package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// sharedWith returns the devices d shares its folder id with.
func sharedWith(t *testing.T, d *device, id string) []string {
	t.Helper()
	var s struct {
		Folders []struct {
			ID      string   `json:"id"`
			Devices []string `json:"devices"`
		} `json:"folders"`
	}
	if err := json.Unmarshal([]byte(d.ferry("status", "--json")), &s); err != nil {
		t.Fatalf("%s: status --json: %v", d.name, err)
	}
	for _, f := range s.Folders {
		if f.ID == id {
			return f.Devices
		}
	}
	t.Fatalf("%s has no folder %s", d.name, id)
	return nil
}

// TestPairLeavesExistingFolderUnasked: A offers docs, and B, which has a
// folder docs of its own, joins with the code: B's docs is left alone and B
// says so with its path; pairing again with --folder docs=PATH, PATH that
// folder's, joins it, and A's files arrive.
func TestPairLeavesExistingFolderUnasked(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	writeFile(t, a.path("from-a.txt"), []byte("A's"), 0o644)
	writeFile(t, b.path("mine.txt"), []byte("B's own"), 0o644)
	a.start()
	b.start()
	code, done := offer(t, a, "--folder", "docs")
	out := b.ferry("pair", code, "--addr", a.listen, "--into", t.TempDir())
	if !strings.Contains(out, "Paired with "+a.id) || !strings.Contains(out, "folder docs not joined: this device has a folder docs at "+b.folder) ||
		strings.Contains(out, "folder docs ->") {
		t.Fatalf("B's pair output:\n%s", out)
	}
	if end := waitPair(t, done); end.err != nil {
		t.Fatalf("A's pair: %v\n%s%s", end.err, end.stdout, end.stderr)
	}
	waitFor(t, 20*time.Second, "A and B connected", func() bool { return a.peer(b.id).Connected && b.peer(a.id).Connected })
	if sa, sb := sharedWith(t, a, "docs"), sharedWith(t, b, "docs"); len(sa)+len(sb) != 0 {
		t.Fatalf("docs is shared after a join that did not confirm it: A with %q, B with %q", sa, sb)
	}

	code, done = offer(t, a, "--folder", "docs")
	out = b.ferry("pair", code, "--addr", a.listen, "--folder", "docs="+b.folder)
	if !strings.Contains(out, "folder docs -> "+b.folder) {
		t.Fatalf("B's pair output when confirmed:\n%s", out)
	}
	if end := waitPair(t, done); end.err != nil {
		t.Fatalf("A's pair: %v\n%s%s", end.err, end.stdout, end.stderr)
	}
	waitFor(t, 20*time.Second, "from-a.txt on B", func() bool { return sameContent(b.path("from-a.txt"), []byte("A's")) })
	waitFor(t, 20*time.Second, "mine.txt on A", func() bool { return sameContent(a.path("mine.txt"), []byte("B's own")) })
}
