package engine

import (
	"slices"
	"testing"

	"ferry/proto"
)

func TestBeats(t *testing.T) {
	f := func(mtime int64, deleted bool, v proto.Vector) *proto.FileInfo {
		return &proto.FileInfo{Name: "x", ModTime: mtime, Deleted: deleted, Version: v, ModifiedBy: dev(0x11).Short()}
	}
	for _, tc := range []struct {
		name string
		a, b *proto.FileInfo
		want bool
	}{
		{"newer", f(1, false, vec(0x11, 2)), f(9, false, vec(0x11, 1)), true},
		{"older", f(9, false, vec(0x11, 1)), f(1, false, vec(0x11, 2)), false},
		{"equal", f(1, false, vec(0x11, 1)), f(1, false, vec(0x11, 1)), false},
		{"newer deletion", f(1, true, vec(0x11, 2)), f(1, false, vec(0x11, 1)), true},
		{"concurrent, later", f(2, false, vec(0x11, 1)), f(1, false, vec(0x22, 1)), true},
		{"concurrent, earlier", f(1, false, vec(0x11, 1)), f(2, false, vec(0x22, 1)), false},
		{"concurrent edit over deletion", f(1, false, vec(0x11, 1)), f(2, true, vec(0x22, 1)), true},
	} {
		if got := beats(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: beats = %t, want %t", tc.name, got, tc.want)
		}
	}
}

func TestGlobal(t *testing.T) {
	file := func(mtime int64, deleted bool, v proto.Vector) *proto.FileInfo {
		return &proto.FileInfo{Name: "x", ModTime: mtime, Deleted: deleted, Version: v}
	}
	old := file(5, false, vec(0x11, 1))            // an early edit
	tomb := file(5, true, vec(0x11, 2))            // its deletion
	edit := file(3, false, vec(0x22, 1))           // concurrent with both, earlier mtime
	newer := file(1, false, vec(0x11, 2, 0x22, 1)) // supersedes everything
	same := file(9, false, vec(0x11, 2, 0x22, 1))  // equal version to newer
	all := map[proto.DeviceID]bool{devP: true, devQ: true}
	for _, tc := range []struct {
		name    string
		local   *proto.FileInfo
		remote  map[proto.DeviceID]*proto.FileInfo
		devices map[proto.DeviceID]bool
		want    *proto.FileInfo
		holders []proto.DeviceID
	}{
		{name: "nothing", devices: all},
		{name: "local only", local: old, devices: all, want: old},
		{name: "newer remote", local: old, remote: map[proto.DeviceID]*proto.FileInfo{devP: tomb}, devices: all, want: tomb, holders: []proto.DeviceID{devP}},
		{name: "edit beats concurrent deletion", local: tomb, remote: map[proto.DeviceID]*proto.FileInfo{devP: edit}, devices: all, want: edit, holders: []proto.DeviceID{devP}},
		{
			// Pairwise, old beats edit (later mtime), tomb supersedes old,
			// and edit beats tomb: only records nothing supersedes compete.
			name: "not transitive pairwise", local: tomb,
			remote:  map[proto.DeviceID]*proto.FileInfo{devP: edit, devQ: old},
			devices: all, want: edit, holders: []proto.DeviceID{devP},
		},
		{
			name: "equal versions: local preferred", local: newer,
			remote:  map[proto.DeviceID]*proto.FileInfo{devP: same, devQ: same},
			devices: all, want: newer, holders: []proto.DeviceID{devP, devQ},
		},
		{
			name:    "equal versions: smallest device preferred",
			remote:  map[proto.DeviceID]*proto.FileInfo{devQ: same, devP: newer},
			devices: all, want: newer, holders: []proto.DeviceID{devP, devQ},
		},
		{
			name: "unshared device ignored", local: old,
			remote:  map[proto.DeviceID]*proto.FileInfo{devP: tomb},
			devices: map[proto.DeviceID]bool{devQ: true}, want: old,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Map order varies between runs: set the records in many orders.
			for range 20 {
				en := &entry{local: tc.local}
				for dev, f := range tc.remote {
					en.remote.set(dev, f)
				}
				got, holders := en.global(tc.devices)
				if got != tc.want {
					t.Fatalf("global %v, want %v", got, tc.want)
				}
				if !slices.Equal(holders, tc.holders) {
					t.Fatalf("holders %v, want %v", holders, tc.holders)
				}
			}
		})
	}
}

func TestTableUnder(t *testing.T) {
	tb := newTable(&testStore{}, func(proto.DeviceID) bool { return true })
	for _, n := range []string{"a", "a/b", "a/b/c", "ab", "x/y/z", "x/y2"} {
		tb.setLocal(proto.FileInfo{Name: n})
	}
	for _, tc := range []struct {
		subtree string
		want    []string
	}{
		{"", []string{"a", "a/b", "a/b/c", "ab", "x/y/z", "x/y2"}},
		{"a", []string{"a", "a/b", "a/b/c"}}, // not "ab"
		{"a/b", []string{"a/b", "a/b/c"}},
		{"x", []string{"x/y/z", "x/y2"}}, // directories without records of their own
		{"x/y", []string{"x/y/z"}},
		{"nothing", nil},
	} {
		var got []string
		tb.under(tc.subtree, "", "", func(name string, _ *entry) { got = append(got, name) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("under(%q) = %q, want %q in byte order", tc.subtree, got, tc.want)
		}
	}
	// A range of the subtree: after one name, up to another.
	for _, tc := range []struct {
		subtree, after, upto string
		want                 []string
	}{
		{"", "a/b", "x/y/z", []string{"a/b/c", "ab", "x/y/z"}},
		{"a", "", "a", []string{"a"}},
		{"a", "a", "", []string{"a/b", "a/b/c"}},
		{"x", "x/y/z", "", []string{"x/y2"}},
	} {
		var got []string
		tb.under(tc.subtree, tc.after, tc.upto, func(name string, _ *entry) { got = append(got, name) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("under(%q, %q, %q) = %q, want %q", tc.subtree, tc.after, tc.upto, got, tc.want)
		}
	}
}
