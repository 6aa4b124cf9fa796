package config

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ferry/proto"
)

func TestAddDevice(t *testing.T) {
	c := Default()
	if err := c.AddDevice(Device{ID: devA, Name: " laptop ", Addrs: []string{"10.0.0.2:22110"}}); err != nil {
		t.Fatal(err)
	}
	if d, ok := c.Device(devA); !ok || d.Name != "laptop" {
		t.Fatalf("device not added: %+v", c.Devices)
	}
	err := c.AddDevice(Device{ID: devA})
	if !errors.Is(err, ErrInvalid) || err.Error() != "device "+devA.String()+" already added" {
		t.Fatalf("duplicate: %v", err)
	}
	if err := c.AddDevice(Device{ID: devB, Addrs: []string{"nope"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad address accepted: %v", err)
	}
	if len(c.Devices) != 1 {
		t.Fatalf("failed add changed the config: %+v", c.Devices)
	}
}

func TestRemoveDevice(t *testing.T) {
	c := validConfig(t.TempDir())
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDevice(devA); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Device(devA); ok || len(c.Folders[0].Devices) != 0 {
		t.Fatalf("device still present: %+v %+v", c.Devices, c.Folders)
	}
	if err := c.RemoveDevice(devA); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestAddFolder(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	c := Default()
	id, err := c.AddFolder(Folder{Path: "My Photos/"})
	if err != nil || id != "my-photos" {
		t.Fatalf("AddFolder = %q, %v", id, err)
	}
	f, _ := c.Folder(id)
	if f.Path != filepath.Join(root, "My Photos") || f.Type != SendReceive {
		t.Fatalf("folder = %+v", f)
	}
	id2, err := c.AddFolder(Folder{Path: filepath.Join(root, "other", "my photos"), Type: SendOnly})
	if err != nil || id2 != "my-photos-2" {
		t.Fatalf("second AddFolder = %q, %v", id2, err)
	}
	failures := []struct {
		f    Folder
		kind error
		msg  string
	}{
		{Folder{ID: "my-photos", Path: filepath.Join(root, "x")}, ErrInvalid, `folder "my-photos" already exists`},
		{Folder{Path: filepath.Join(root, "My Photos", "inner")}, ErrInvalid, "overlap"},
		{Folder{Path: filepath.Join(root, "y"), Type: "both"}, ErrInvalid, "unknown"},
		{Folder{Path: " "}, ErrInvalid, "empty"},
		{Folder{ID: "bad id", Path: filepath.Join(root, "z")}, ErrInvalid, "folder ID"},
		{Folder{Path: filepath.Join(root, "w"), Devices: []proto.DeviceID{devA}}, ErrNotFound, "not a known device"},
	}
	for _, tt := range failures {
		if _, err := c.AddFolder(tt.f); !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("AddFolder(%+v) error %v, want %v containing %q", tt.f, err, tt.kind, tt.msg)
		}
	}
	if len(c.Folders) != 2 {
		t.Fatalf("failed adds changed the config: %+v", c.Folders)
	}
}

func TestShareFolder(t *testing.T) {
	c := Default()
	must(t, c.AddDevice(Device{ID: devA}))
	if _, err := c.AddFolder(Folder{ID: "docs", Path: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := c.ShareFolder("nope", devA); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown folder: %v", err)
	}
	if err := c.ShareFolder("docs", devB); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	must(t, c.ShareFolder("docs", devA))
	must(t, c.ShareFolder("docs", devA))
	if f, _ := c.Folder("docs"); !slices.Equal(f.Devices, []proto.DeviceID{devA}) {
		t.Fatalf("devices = %v", f.Devices)
	}
}

func TestSetFolderType(t *testing.T) {
	c := Default()
	if _, err := c.AddFolder(Folder{ID: "docs", Path: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetFolderType("nope", ReceiveOnly); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown folder: %v", err)
	}
	if err := c.SetFolderType("docs", "backup"); err == nil {
		t.Fatal("an unknown type was taken")
	}
	must(t, c.SetFolderType("docs", ReceiveOnly))
	if f, _ := c.Folder("docs"); f.Type != ReceiveOnly {
		t.Fatalf("type = %q, want receive-only", f.Type)
	}
}

func TestSlug(t *testing.T) {
	tests := map[string]string{
		"Photos":                       "photos",
		"My  Music (2024)":             "my-music-2024",
		".hidden":                      "hidden",
		"Фото":                         "folder",
		"/":                            "folder",
		"a.b_c-d":                      "a.b_c-d",
		strings.Repeat("ab", 40):       strings.Repeat("ab", 32),
		strings.Repeat("a", 63) + " x": strings.Repeat("a", 63),
	}
	for in, want := range tests {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
		if err := CheckFolderID(slug(in)); err != nil {
			t.Errorf("slug(%q) is not a valid ID: %v", in, err)
		}
	}
}

func TestUniqueFolderIDLong(t *testing.T) {
	c := Default()
	long := strings.Repeat("x", MaxFolderIDLen)
	c.Folders = []Folder{{ID: long}}
	id := c.uniqueFolderID(long)
	if len(id) != MaxFolderIDLen || !strings.HasSuffix(id, "-2") {
		t.Fatalf("unique ID = %q", id)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
