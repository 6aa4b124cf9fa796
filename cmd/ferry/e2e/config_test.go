package e2e

import (
	"os"
	"testing"
	"time"
)

// Devices and shares added while the daemons run take effect at once.
func TestConfigChangesApplyWhileRunning(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	writeFile(t, a.path("hello.txt"), []byte("hi"), 0o644)
	a.start()
	b.start()
	pair(a, b) // through the running daemons' API
	converge(t, 30*time.Second, a, b)
	if got, _ := os.ReadFile(b.path("hello.txt")); string(got) != "hi" {
		t.Fatalf("B has %q", got)
	}
	// Removing the device stops the sync.
	a.ferry("device", "remove", b.id)
	waitFor(t, 10*time.Second, "B disconnected", func() bool { return !b.peer(a.id).Connected })
	writeFile(t, a.path("after-remove.txt"), []byte("private"), 0o644)
	a.ferry("scan", "docs")
	time.Sleep(time.Second)
	if _, err := os.Stat(b.path("after-remove.txt")); !os.IsNotExist(err) {
		t.Fatalf("a removed device still receives files: %v", err)
	}
	if out, _, code := a.try("device", "add", "NOT-AN-ID"); code != 1 {
		t.Fatalf("bad ID accepted: exit %d %s", code, out)
	}
}
