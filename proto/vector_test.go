package proto

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func vecOf(pairs ...uint64) Vector {
	var out Vector
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Counter{ID: ShortID(pairs[i]), Value: pairs[i+1]})
	}
	return out
}

func TestVectorCompare(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Vector
		want Ordering
	}{
		{"both empty", nil, nil, Equal},
		{"same", vecOf(1, 2, 3, 4), vecOf(1, 2, 3, 4), Equal},
		{"empty is older", nil, vecOf(1, 1), Lesser},
		{"anything is newer than empty", vecOf(1, 1), nil, Greater},
		{"one counter ahead", vecOf(1, 3, 2, 1), vecOf(1, 2, 2, 1), Greater},
		{"one counter behind", vecOf(1, 2, 2, 1), vecOf(1, 3, 2, 1), Lesser},
		{"extra device", vecOf(1, 1, 2, 1), vecOf(1, 1), Greater},
		{"missing device", vecOf(2, 1), vecOf(1, 1, 2, 1), Lesser},
		{"disjoint devices", vecOf(1, 1), vecOf(2, 1), Concurrent},
		{"crossed counters", vecOf(1, 2, 2, 1), vecOf(1, 1, 2, 2), Concurrent},
		{"interleaved devices", vecOf(1, 1, 3, 1), vecOf(2, 1, 3, 1), Concurrent},
	} {
		if got := tc.a.Compare(tc.b); got != tc.want {
			t.Errorf("%s: %v.Compare(%v) = %v, want %v", tc.name, tc.a, tc.b, got, tc.want)
		}
		if got := tc.a.Equal(tc.b); got != (tc.want == Equal) {
			t.Errorf("%s: Equal = %t", tc.name, got)
		}
	}
}

func TestVectorUpdate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Vector
		id   ShortID
		now  uint64
		want Vector
	}{
		{"first counter", nil, 5, 0, vecOf(5, 1)},
		{"first counter takes the clock", nil, 5, 100, vecOf(5, 100)},
		{"increment", vecOf(5, 7), 5, 0, vecOf(5, 8)},
		{"clock ahead", vecOf(5, 7), 5, 100, vecOf(5, 100)},
		{"clock behind", vecOf(5, 700), 5, 100, vecOf(5, 701)},
		{"insert in order", vecOf(1, 1, 9, 1), 5, 0, vecOf(1, 1, 5, 1, 9, 1)},
		{"insert first", vecOf(5, 1), 1, 0, vecOf(1, 1, 5, 1)},
	} {
		in := slices.Clone(tc.in)
		got := tc.in.Update(tc.id, tc.now)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: Update = %v, want %v", tc.name, got, tc.want)
		}
		if !slices.Equal(tc.in, in) {
			t.Errorf("%s: Update changed its receiver to %v", tc.name, tc.in)
		}
		if got.Compare(tc.in) != Greater {
			t.Errorf("%s: updated vector is not newer", tc.name)
		}
	}
}

func TestVectorUpdateSaturates(t *testing.T) {
	in := vecOf(5, math.MaxUint64)
	got := in.Update(5, 0)
	if got.Counter(5) != math.MaxUint64 {
		t.Fatalf("Update of the largest counter = %v, want it kept at the largest, not wrapped", got)
	}
	if got.Compare(vecOf(5, 1)) != Greater {
		t.Fatalf("saturated vector %v compares older than {5:1}", got)
	}
}

func TestVectorMerge(t *testing.T) {
	for _, tc := range []struct {
		a, b, want Vector
	}{
		{nil, nil, Vector{}},
		{vecOf(1, 2), nil, vecOf(1, 2)},
		{nil, vecOf(1, 2), vecOf(1, 2)},
		{vecOf(1, 2, 3, 1), vecOf(1, 1, 2, 5), vecOf(1, 2, 2, 5, 3, 1)},
		{vecOf(2, 1), vecOf(1, 1, 3, 1), vecOf(1, 1, 2, 1, 3, 1)},
	} {
		got := tc.a.Merge(tc.b)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v.Merge(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestVectorCounterStringClone(t *testing.T) {
	x := vecOf(0x1111111111111111, 3, 0x2222222222222222, 4)
	if x.Counter(0x2222222222222222) != 4 || x.Counter(7) != 0 {
		t.Errorf("Counter: %d, %d", x.Counter(0x2222222222222222), x.Counter(7))
	}
	if got := x.String(); got != "{1111111:3,2222222:4}" {
		t.Errorf("String = %q", got)
	}
	c := x.Clone()
	c[0].Value = 99
	if x[0].Value != 3 {
		t.Error("Clone shares memory with the original")
	}
}

// randomVector draws a small vector over a few devices, so that random
// pairs are often related.
func randomVector(r *rand.Rand) Vector {
	var out Vector
	for id := range 4 {
		if r.IntN(2) == 0 {
			out = append(out, Counter{ID: ShortID(id + 1), Value: uint64(1 + r.IntN(3))})
		}
	}
	return out
}

// TestVectorProperties checks the laws the engine relies on against random
// vectors: Compare is antisymmetric, Merge is the least upper bound, Update
// makes a newer vector.
func TestVectorProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	opposite := map[Ordering]Ordering{Equal: Equal, Greater: Lesser, Lesser: Greater, Concurrent: Concurrent}
	for range 5000 {
		a, b, c := randomVector(r), randomVector(r), randomVector(r)
		if got, want := b.Compare(a), opposite[a.Compare(b)]; got != want {
			t.Fatalf("%v vs %v: %v one way, %v the other", a, b, a.Compare(b), got)
		}
		m := a.Merge(b)
		if o := m.Compare(a); o != Greater && o != Equal {
			t.Fatalf("merge %v of %v and %v is not above %v", m, a, b, a)
		}
		if o := m.Compare(b); o != Greater && o != Equal {
			t.Fatalf("merge %v of %v and %v is not above %v", m, a, b, b)
		}
		// Least: any c above both is above the merge.
		above := func(x, y Vector) bool { o := x.Compare(y); return o == Greater || o == Equal }
		if above(c, a) && above(c, b) && !above(c, m) {
			t.Fatalf("%v is above %v and %v but not their merge %v", c, a, b, m)
		}
		if !m.Equal(b.Merge(a)) {
			t.Fatalf("merge is not commutative for %v and %v", a, b)
		}
		if a.Update(ShortID(1+r.IntN(5)), uint64(r.IntN(4))).Compare(a) != Greater {
			t.Fatalf("update of %v is not newer", a)
		}
	}
}
