package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/proto"
)

func TestRemoveFolder(t *testing.T) {
	c := validConfig(t.TempDir())
	if err := c.RemoveFolder("photos"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Folder("photos"); ok || len(c.Folders) != 1 {
		t.Fatalf("folder still listed: %+v", c.Folders)
	}
	if err := c.RemoveFolder("photos"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestUnshareFolder(t *testing.T) {
	c := validConfig(t.TempDir())
	if err := c.UnshareFolder("photos", devB); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unsharing a device it is not shared with: %v", err)
	}
	if err := c.UnshareFolder("nope", devA); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unsharing a missing folder: %v", err)
	}
	if err := c.UnshareFolder("photos", devA); err != nil {
		t.Fatal(err)
	}
	if f, _ := c.Folder("photos"); len(f.Devices) != 0 {
		t.Fatalf("still shared: %v", f.Devices)
	}
	if _, ok := c.Device(devA); !ok {
		t.Fatal("unsharing forgot the device")
	}
}

func TestFolderSettings(t *testing.T) {
	root := t.TempDir()
	c := validConfig(root)
	if err := c.SetFolderPaused("photos", true); err != nil {
		t.Fatal(err)
	}
	if err := c.SetFolderLabel("photos", "  Family photos "); err != nil {
		t.Fatal(err)
	}
	if err := c.SetFolderScanInterval("photos", Duration(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetFolderPath("photos", filepath.Join(root, "moved", "..", "pics")); err != nil {
		t.Fatal(err)
	}
	f, _ := c.Folder("photos")
	if !f.Paused || f.Label != "Family photos" || f.ScanInterval != Duration(time.Hour) || f.Path != filepath.Join(root, "pics") {
		t.Fatalf("settings not applied: %+v", f)
	}
	if err := c.SetFolderPaused("photos", false); err != nil {
		t.Fatal(err)
	}
	if f, _ := c.Folder("photos"); f.Paused {
		t.Fatal("still paused")
	}

	before := c.Clone()
	for name, err := range map[string]error{
		"path inside another folder": c.SetFolderPath("photos", filepath.Join(root, "photos2", "sub")),
		"empty path":                 c.SetFolderPath("photos", " "),
		"negative interval":          c.SetFolderScanInterval("photos", -1),
		"control character label":    c.SetFolderLabel("photos", "a\x00b"),
		"long label":                 c.SetFolderLabel("photos", strings.Repeat("x", MaxNameLen+1)),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	for name, err := range map[string]error{
		"pause":    c.SetFolderPaused("nope", true),
		"label":    c.SetFolderLabel("nope", "x"),
		"path":     c.SetFolderPath("nope", root),
		"interval": c.SetFolderScanInterval("nope", 0),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a missing folder: %v, want ErrNotFound", name, err)
		}
	}
	if f, g := c.Folders[0], before.Folders[0]; f.Path != g.Path || f.Label != g.Label || f.ScanInterval != g.ScanInterval {
		t.Fatalf("refused changes changed the folder: %+v, was %+v", f, g)
	}
}

func TestDeviceSettings(t *testing.T) {
	c := validConfig(t.TempDir())
	if err := c.RenameDevice(devB, "  phone "); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDevicePaused(devB, true); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeviceAddrs(devB, []string{"192.0.2.7:22110"}); err != nil {
		t.Fatal(err)
	}
	d, _ := c.Device(devB)
	if d.Name != "phone" || !d.Paused || len(d.Addrs) != 1 || d.Addrs[0] != "192.0.2.7:22110" {
		t.Fatalf("settings not applied: %+v", d)
	}
	if err := c.SetDeviceAddrs(devB, nil); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Device(devB); len(d.Addrs) != 0 {
		t.Fatalf("addresses not cleared: %v", d.Addrs)
	}
	if err := c.SetDeviceAddrs(devB, []string{"no-port"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad address: %v", err)
	}
	// SetDevice changes all or nothing.
	name, limit, bad := "tablet", int64(4096), int64(-1)
	if err := c.SetDevice(devB, DeviceChange{Name: &name, MaxSend: &limit, MaxRecv: &bad}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a negative limit: %v", err)
	}
	if d, _ := c.Device(devB); d.Name != "phone" || d.MaxSend != 0 {
		t.Fatalf("a refused change changed the device: %+v", d)
	}
	if err := c.SetDevice(devB, DeviceChange{Name: &name, MaxSend: &limit}); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Device(devB); d.Name != "tablet" || d.MaxSend != 4096 || d.MaxRecv != 0 {
		t.Fatalf("SetDevice: %+v", d)
	}
	if err := c.RenameDevice(devB, "phone"); err != nil {
		t.Fatal(err)
	}
	if err := c.RenameDevice(devB, "bad\nname"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("control character: %v", err)
	}
	var unknown proto.DeviceID
	unknown[0] = 9
	if err := c.SetDevicePaused(unknown, true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if d, _ := c.Device(devB); d.Name != "phone" {
		t.Fatalf("refused rename changed the name: %q", d.Name)
	}
}
