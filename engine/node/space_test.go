package node

import (
	"errors"
	"testing"

	"ferry/engine/config"
)

func TestSpaceReserve(t *testing.T) {
	disks := map[string][2]uint64{"/f": {10 << 20, 100 << 20}, "/h": {50 << 20, 100 << 20}} // free, total
	s := newSpace("/f", "/h", config.MinFree{Percent: 1, Bytes: 1 << 30})
	s.diskSpace = func(p string) (uint64, uint64, error) { d := disks[p]; return d[0], d[1], nil }
	// 1 % of 100 MiB is kept free: 10 MiB free leaves room for about 9 MiB.
	rel1, err := s.reserve(5 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.reserve(5 << 20); !errors.Is(err, errNoSpace) || !isNoSpace(err) {
		t.Fatalf("second 5 MiB with the first reserved = %v, want errNoSpace", err)
	}
	rel1()
	rel2, err := s.reserve(8 << 20)
	if err != nil {
		t.Fatalf("8 MiB after the release = %v", err)
	}
	rel2()
	disks["/h"] = [2]uint64{512 << 10, 100 << 20} // the home disk is full
	if _, err := s.reserve(0); !errors.Is(err, errNoSpace) {
		t.Fatalf("full home = %v, want errNoSpace", err)
	}
	s.setMin(config.MinFree{})
	if _, err := s.reserve(9 << 20); err != nil {
		t.Fatalf("with nothing kept free = %v", err)
	}
}

func TestMinFreeKeep(t *testing.T) {
	for _, c := range []struct {
		m     config.MinFree
		total uint64
		want  int64
	}{
		{config.DefaultMinFree, 1 << 40, 1 << 30},    // 1 % of 1 TiB is more than 1 GiB
		{config.DefaultMinFree, 10 << 30, 107374182}, // 1 % of 10 GiB
		{config.MinFree{Bytes: 5}, 1000, 5},
		{config.MinFree{Percent: 10}, 1000, 100},
		{config.MinFree{}, 1000, 0},
	} {
		if got := c.m.Keep(c.total); got != c.want {
			t.Errorf("%+v.Keep(%d) = %d, want %d", c.m, c.total, got, c.want)
		}
	}
}
