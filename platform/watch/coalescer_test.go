package watch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the fake clock's origin.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func testCoalescer(maxPaths int) *coalescer {
	o := Options{MaxPaths: maxPaths}
	if err := o.Validate(); err != nil {
		panic(err)
	}
	return newCoalescer(o)
}

func TestCoalescerPaths(t *testing.T) {
	tests := []struct {
		name     string
		maxPaths int
		add      []string // kindChange events, "!" for an overflow
		want     Batch
	}{
		{"one", 0, []string{"a"}, Batch{Paths: []string{"a"}}},
		{"duplicates", 0, []string{"a", "a", "a"}, Batch{Paths: []string{"a"}}},
		{"child after parent", 0, []string{"a", "a/b", "a/b/c"}, Batch{Paths: []string{"a"}}},
		{"parent after child", 0, []string{"a/b/c", "a/b", "a"}, Batch{Paths: []string{"a"}}},
		{"siblings sorted", 0, []string{"c", "a/y", "b", "a/x"}, Batch{Paths: []string{"a/x", "a/y", "b", "c"}}},
		{"prefix is not a parent", 0, []string{"a-x", "a/b", "ab", "a"}, Batch{Paths: []string{"a", "a-x", "ab"}}},
		{"whole folder", 0, []string{"a", "", "b/c"}, Batch{Paths: []string{""}}},
		{"overflow", 0, []string{"a", "!", "b"}, Batch{Paths: []string{""}, Overflow: true}},
		{"collapse to parent", 3, []string{"d/1", "d/2", "d/3", "d/4", "e"}, Batch{Paths: []string{"d", "e"}}},
		{"collapse deepest first", 3, []string{"x/y/1", "x/y/2", "x/z", "a/b", "c"},
			Batch{Paths: []string{"a", "c", "x"}}},
		{"collapse to root", 3, []string{"a", "b", "c", "d"}, Batch{Paths: []string{""}}},
		{"exactly max", 3, []string{"a", "b", "c"}, Batch{Paths: []string{"a", "b", "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCoalescer(tt.maxPaths)
			for i, n := range tt.add {
				if n == "!" {
					c.add("ignored", kindOverflow, at(i))
				} else {
					c.add(n, kindChange, at(i))
				}
			}
			got := c.take()
			if !slices.Equal(got.Paths, tt.want.Paths) || got.Overflow != tt.want.Overflow {
				t.Errorf("take = %+v, want %+v", got, tt.want)
			}
			if b := c.take(); b.Paths != nil || b.Overflow {
				t.Errorf("second take = %+v, want empty", b)
			}
		})
	}
}

func TestCoalescerTiming(t *testing.T) {
	tests := []struct {
		name   string
		events []int // event times, ms
		notDue int   // a time at which the batch is not due yet
		dueAt  int   // the time it becomes due
	}{
		{"single event waits debounce", []int{0}, 149, 150},
		{"each event extends the quiet time", []int{0, 100, 200}, 349, 350},
		{"max delay caps a busy stream", []int{0, 140, 280, 420, 560, 700, 840, 980}, 999, 1000},
		{"late first event", []int{500}, 649, 650},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCoalescer(0)
			if c.due(at(0)) {
				t.Fatal("empty coalescer is due")
			}
			for _, ms := range tt.events {
				c.add("f", kindChange, at(ms))
			}
			if c.due(at(tt.notDue)) {
				t.Errorf("due at %dms", tt.notDue)
			}
			if !c.due(at(tt.dueAt)) {
				t.Errorf("not due at %dms", tt.dueAt)
			}
			if next, ok := c.next(); !ok || !next.Equal(at(tt.dueAt)) {
				t.Errorf("next = %v, %v; want %dms", next.Sub(t0), ok, tt.dueAt)
			}
		})
	}
}

// TestCoalescerMaxDelayStream feeds an event every 20ms for 5s, delivering
// whenever due, and checks batches come at least every MaxDelay.
func TestCoalescerMaxDelayStream(t *testing.T) {
	c := testCoalescer(0)
	var deliveries []int
	for ms := 0; ms <= 5000; ms++ {
		if ms%20 == 0 {
			c.add(fmt.Sprintf("f%d", ms), kindChange, at(ms))
		}
		if c.due(at(ms)) {
			c.take()
			deliveries = append(deliveries, ms)
		}
	}
	want := []int{1000, 2020, 3040, 4060}
	if !slices.Equal(deliveries, want) {
		t.Errorf("deliveries at %v ms, want %v", deliveries, want)
	}
}

// TestCoalescerBounded checks that pending names never exceed 4*MaxPaths,
// however many distinct names arrive.
func TestCoalescerBounded(t *testing.T) {
	c := testCoalescer(10)
	for i := range 10000 {
		c.add(fmt.Sprintf("d%d/sub%d/f%d", i%7, i%13, i), kindChange, t0)
		if len(c.paths) > 40 {
			t.Fatalf("after %d events %d names pending", i+1, len(c.paths))
		}
	}
	b := c.take()
	if len(b.Paths) > 10 {
		t.Errorf("batch has %d paths: %v", len(b.Paths), b.Paths)
	}
	if !slices.Equal(b.Paths, []string{"d0", "d1", "d2", "d3", "d4", "d5", "d6"}) {
		t.Errorf("batch = %v", b.Paths)
	}
}

// TestCoalescerModel checks random event sequences against the definition:
// every event name is covered, the batch is sorted, minimal and within
// MaxPaths.
func TestCoalescerModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	comps := []string{"a", "b", "a-b", "a.b", "ab", "c"}
	for round := range 500 {
		maxPaths := 1 + rng.IntN(8)
		c := testCoalescer(maxPaths)
		var added []string
		for range rng.IntN(40) {
			parts := make([]string, 1+rng.IntN(4))
			for i := range parts {
				parts[i] = comps[rng.IntN(len(comps))]
			}
			n := strings.Join(parts, "/")
			added = append(added, n)
			c.add(n, kindChange, t0)
		}
		b := c.take()
		if err := checkBatch(b, added, maxPaths); err != nil {
			t.Fatalf("round %d (max %d, added %q): %v", round, maxPaths, added, err)
		}
	}
}

func checkBatch(b Batch, added []string, maxPaths int) error {
	if len(added) == 0 {
		if b.Paths != nil {
			return fmt.Errorf("batch %q from no events", b.Paths)
		}
		return nil
	}
	if len(b.Paths) > maxPaths {
		return fmt.Errorf("%d paths > %d", len(b.Paths), maxPaths)
	}
	if err := checkMinimal(b.Paths); err != nil {
		return err
	}
	for _, n := range added {
		if !coveredBy(b.Paths, n) {
			return fmt.Errorf("%q not covered by %q", n, b.Paths)
		}
	}
	return nil
}

// checkMinimal checks that paths are sorted and none is inside another.
func checkMinimal(paths []string) error {
	if !slices.IsSorted(paths) {
		return fmt.Errorf("not sorted: %q", paths)
	}
	for i, p := range paths {
		for j, q := range paths {
			if i != j && covers(q, p) {
				return fmt.Errorf("%q is inside %q", p, q)
			}
		}
	}
	return nil
}

// covers reports whether scanning subtree p scans name.
func covers(p, name string) bool {
	return p == "" || p == name || strings.HasPrefix(name, p+"/")
}

func coveredBy(paths []string, name string) bool {
	return slices.ContainsFunc(paths, func(p string) bool { return covers(p, name) })
}

func BenchmarkCoalescer(b *testing.B) {
	names := make([]string, 1<<14)
	for i := range names {
		names[i] = fmt.Sprintf("src/pkg%d/sub%d/file%d.go", i%50, i%7, i)
	}
	c := testCoalescer(DefaultMaxPaths)
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c.add(names[i%len(names)], kindChange, now)
		if i%10000 == 9999 {
			c.take()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
