package proto

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Counter is one device's entry in a version vector.
type Counter struct {
	ID    ShortID
	Value uint64
}

// Vector is a version vector: counters sorted by device, none zero.
type Vector []Counter

// MaxCounter is the largest counter a valid vector holds. Counters start
// from a clock reading in seconds and rise by one per change, so a real one
// stays far below it; a peer that sends more is refused. The headroom above
// it keeps Update from wrapping around, which would make every later local
// change of the file compare as older and lose.
const MaxCounter = 1 << 62

// Ordering is the result of comparing two vectors.
type Ordering int

const (
	Equal Ordering = iota
	Greater
	Lesser
	Concurrent
)

func (o Ordering) String() string {
	return [...]string{"equal", "greater", "lesser", "concurrent"}[o]
}

// Counter returns the value of id's counter, 0 if absent.
func (v Vector) Counter(id ShortID) uint64 {
	for _, c := range v {
		if c.ID == id {
			return c.Value
		}
	}
	return 0
}

// Update returns a copy of v with id's counter raised to max(old+1, now).
// Taking a clock reading into account keeps a device whose index was lost from
// reusing counter values its peers have already seen. The counter saturates
// instead of wrapping around to zero.
func (v Vector) Update(id ShortID, now uint64) Vector {
	out := slices.Clone(v)
	i, found := slices.BinarySearchFunc(out, id, func(c Counter, id ShortID) int { return cmp.Compare(c.ID, id) })
	if found {
		next := out[i].Value + 1
		if next == 0 {
			next = out[i].Value
		}
		out[i].Value = max(next, now)
		return out
	}
	return slices.Insert(out, i, Counter{ID: id, Value: max(1, now)})
}

// Merge returns the element-wise maximum of v and w.
func (v Vector) Merge(w Vector) Vector {
	out := make(Vector, 0, max(len(v), len(w)))
	i, j := 0, 0
	for i < len(v) || j < len(w) {
		switch {
		case j >= len(w) || (i < len(v) && v[i].ID < w[j].ID):
			out = append(out, v[i])
			i++
		case i >= len(v) || w[j].ID < v[i].ID:
			out = append(out, w[j])
			j++
		default:
			out = append(out, Counter{ID: v[i].ID, Value: max(v[i].Value, w[j].Value)})
			i++
			j++
		}
	}
	return out
}

// Compare tells how v relates to w.
func (v Vector) Compare(w Vector) Ordering {
	greater, lesser := false, false
	i, j := 0, 0
	for i < len(v) || j < len(w) {
		var a, b uint64
		switch {
		case j >= len(w) || (i < len(v) && v[i].ID < w[j].ID):
			a = v[i].Value
			i++
		case i >= len(v) || w[j].ID < v[i].ID:
			b = w[j].Value
			j++
		default:
			a, b = v[i].Value, w[j].Value
			i++
			j++
		}
		if a > b {
			greater = true
		} else if a < b {
			lesser = true
		}
	}
	switch {
	case greater && lesser:
		return Concurrent
	case greater:
		return Greater
	case lesser:
		return Lesser
	}
	return Equal
}

// Equal reports whether v and w hold the same counters.
func (v Vector) Equal(w Vector) bool { return v.Compare(w) == Equal }

func (v Vector) String() string {
	parts := make([]string, len(v))
	for i, c := range v {
		parts[i] = fmt.Sprintf("%s:%d", c.ID, c.Value)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Clone returns a copy of v.
func (v Vector) Clone() Vector { return slices.Clone(v) }
