package node

import (
	"fmt"
	"testing"
	"time"

	"ferry/engine/config"
	"ferry/proto"
)

func TestOfferedFolders(t *testing.T) {
	var o offeredFolders
	a, b := proto.DeviceID{1}, proto.DeviceID{2}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	many := []string{"../etc", "", "ok"}
	for i := range 2 * maxOfferedPerDevice {
		many = append(many, fmt.Sprintf("f%03d", i))
	}
	if !o.set(a, many, now) {
		t.Fatal("a new offer did not count as a change")
	}
	if o.set(a, many, now) {
		t.Fatal("the same offer again counted as a change")
	}
	o.set(b, []string{"music", "music"}, now)
	list := o.list()
	if len(list) != maxOfferedPerDevice+1 {
		t.Fatalf("%d offers listed, want %d (bounded per device, duplicates once)", len(list), maxOfferedPerDevice+1)
	}
	for _, x := range list {
		if config.CheckFolderID(x.folder) != nil {
			t.Fatalf("invalid folder ID %q listed", x.folder)
		}
	}
	if !o.has(b, "music") || o.has(a, "music") || o.has(a, "../etc") {
		t.Fatal("has answers wrong")
	}

	cfg := config.Config{
		Devices: []config.Device{{ID: b}},
		Folders: []config.Folder{{ID: "music", Path: "/m", Devices: []proto.DeviceID{b}}},
	}
	o.forgetShared(cfg)
	if got := o.list(); len(got) != 0 {
		t.Fatalf("after a was removed and music shared with b: %+v", got)
	}
	o.set(b, []string{"music"}, now)
	if o.set(b, nil, now); o.has(b, "music") {
		t.Fatal("an offer withdrawn in a later Hello is still listed")
	}
}
