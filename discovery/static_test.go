package discovery

import (
	"slices"
	"testing"

	"ferry/proto"
)

func TestStatic(t *testing.T) {
	s := NewStatic()
	a, b := proto.DeviceID{1}, proto.DeviceID{2}
	if got := s.Lookup(a); len(got) != 0 {
		t.Fatalf("unknown device resolved to %v", got)
	}
	addrs := []string{"127.0.0.1:1", "[::1]:2"}
	s.Set(a, addrs)
	addrs[0] = "changed"
	if got := s.Lookup(a); !slices.Equal(got, []string{"127.0.0.1:1", "[::1]:2"}) {
		t.Fatalf("Lookup = %v", got)
	}
	got := s.Lookup(a)
	got[0] = "mutated"
	if s.Lookup(a)[0] != "127.0.0.1:1" {
		t.Fatal("Lookup result aliases the resolver's state")
	}
	if len(s.Lookup(b)) != 0 {
		t.Fatal("other device resolved")
	}
	s.Set(a, nil)
	if len(s.Lookup(a)) != 0 {
		t.Fatal("Set(nil) did not forget the device")
	}
}
