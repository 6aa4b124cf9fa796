package enginetest

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/zeebo/blake3"

	"ferry/proto"
)

// errLost marks the failures of the ledger's check.
var errLost = errors.New("version lost")

// contentKey identifies a file's content by its block list, as the engine's
// records and the folder both give it.
type contentKey [32]byte

func keyOf(blocks []proto.Block) contentKey {
	h := blake3.New()
	for _, b := range blocks {
		h.Write(b.Hash[:])
	}
	var k contentKey
	h.Sum(k[:0])
	return k
}

func keyOfData(data []byte) contentKey { return keyOf(Blocks(data)) }

// A version is one content a simulated user wrote to a file. Every write
// makes content no other write makes (see users.newContent), so the content
// identifies the version.
type version struct {
	dev  int
	name string
	step int
	key  contentKey
	vec  proto.Vector // what the writer's engine recorded it as; nil if it never did
	gone string       // how a user who had it replaced or removed it; "" while it must survive
}

// ledger keeps every version the users wrote and the rule of what may be
// missing at the end of a run. A version may disappear only if it was
// superseded by a user who had seen it: the user of a device that held it
// on disk wrote over it, appended to it or removed it (or a directory
// holding it). Every other version, above all one concurrent with the
// version that won at its name, must still be on every device once they
// converged: as the winner at its name, as a conflict copy, or wherever a
// user moved it (the engine keeps no history).
//
// Having seen a version is judged by what was on the user's disk, not by
// version vectors: the vector of the superseding version dominates the old
// one exactly when the engine did its job, and an engine that merged
// vectors without keeping the loser is the bug this check is for. The
// vectors the writers' engines gave the versions go into the report of a
// loss, with each device's record of the name, to tell an overwrite the
// engine took for causal from one it let through as concurrent.
type ledger struct {
	s        *Sim
	versions []*version
	byKey    map[contentKey]*version
	dups     []string // contents written twice, which the ledger cannot tell apart
}

func newLedger() *ledger { return &ledger{byKey: make(map[contentKey]*version)} }

func (v *version) String() string {
	return fmt.Sprintf("%s:%s@%d/%x", string(rune('A'+v.dev)), v.name, v.step, v.key[:4])
}

// wrote records that device dev's user wrote data to name. Empty content
// carries nothing to lose and is not recorded.
func (l *ledger) wrote(dev int, name string, data []byte) {
	if len(data) == 0 {
		return
	}
	v := &version{dev: dev, name: name, step: l.s.Steps(), key: keyOfData(data)}
	if old := l.byKey[v.key]; old != nil {
		l.dups = append(l.dups, fmt.Sprintf("%v and %v", old, v))
		return
	}
	l.versions = append(l.versions, v)
	l.byKey[v.key] = v
}

// committed notes the vector the writer's engine first gave a version.
func (l *ledger) committed(dev int, f proto.FileInfo) {
	if !f.IsFile() || len(f.Blocks) == 0 {
		return
	}
	if v := l.byKey[keyOf(f.Blocks)]; v != nil && v.vec == nil && v.dev == dev && v.name == f.Name {
		v.vec = f.Version.Clone()
	}
}

// onDisk returns the versions on device i's disk at name or under it.
func (l *ledger) onDisk(i int, name string) []*version {
	fs := l.s.Dev(i).FS
	var out []*version
	for _, n := range fs.Names() {
		if !under(name, n) {
			continue
		}
		if data, ok := fs.ReadFile(n); ok && len(data) > 0 {
			if v := l.byKey[keyOfData(data)]; v != nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// superseded records that device i's user replaced or removed the
// versions seen on its disk just before.
func (l *ledger) superseded(seen []*version, i int, how string) {
	for _, v := range seen {
		if v.gone == "" {
			v.gone = fmt.Sprintf("%s by %s at step %d", how, l.s.Dev(i).Name, l.s.Steps())
		}
	}
}

// check fails for every version that must survive and is missing on some
// device.
func (l *ledger) check() error {
	var errs []error
	for _, d := range l.dups {
		errs = append(errs, fmt.Errorf("%w: the same content was written twice (%s): the check cannot tell them apart", errLost, d))
	}
	have := make([]map[contentKey]bool, len(l.s.devs))
	for i, d := range l.s.devs {
		have[i] = make(map[contentKey]bool)
		for _, n := range d.FS.Names() {
			if data, ok := d.FS.ReadFile(n); ok {
				have[i][keyOfData(data)] = true
			}
		}
	}
	for _, v := range l.versions {
		var missing []string
		for i, d := range l.s.devs {
			if v.gone == "" && !have[i][v.key] {
				missing = append(missing, d.Name)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("%w: %s", errLost, l.describe(v, missing)))
		}
	}
	return errors.Join(errs...)
}

// describe says which devices lost v and what each has recorded at its
// name.
func (l *ledger) describe(v *version, missing []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the version written at %v is on no file of %s; no user who had it replaced it",
		v, strings.Join(missing, ", "))
	if v.vec == nil {
		b.WriteString("; its writer never recorded it")
	} else {
		fmt.Fprintf(&b, "; its writer recorded it as %v", v.vec)
	}
	for _, d := range l.s.devs {
		f, ok := d.Store.Local(v.name)
		switch {
		case !ok:
			fmt.Fprintf(&b, "; %s has no record of %s", d.Name, v.name)
		case v.vec == nil:
			fmt.Fprintf(&b, "; %s has %s", d.Name, recordString(f))
		default:
			fmt.Fprintf(&b, "; %s has %s, %s", d.Name, recordString(f), relation[f.Version.Compare(v.vec)])
		}
	}
	return b.String()
}

// relation says how a record's vector relates to a version's.
var relation = map[proto.Ordering]string{
	proto.Equal:      "equal to it",
	proto.Greater:    "dominating it",
	proto.Lesser:     "older than it",
	proto.Concurrent: "concurrent with it",
}

func recordString(f proto.FileInfo) string {
	what := f.Type.String()
	if f.Deleted {
		what = "deleted " + what
	} else if f.Type == proto.FileTypeFile {
		k := keyOf(f.Blocks)
		what = fmt.Sprintf("file %x", k[:4])
	}
	return fmt.Sprintf("%s %v", what, f.Version)
}

// TestLedgerSeesMutations changes the end state of passed chaos runs the
// way a lost version would look and expects the check to name the version.
func TestLedgerSeesMutations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pick   func(fs *MemFS, n string) bool // the file to change
		mutate func(fs *MemFS, n string)
	}{
		{"conflict copy dropped", isConflictCopy, func(fs *MemFS, n string) { must(t, fs.RemoveAll(n)) }},
		{"conflict copy overwritten", isConflictCopy, func(fs *MemFS, n string) { must(t, fs.WriteFile(n, []byte("other"), 0)) }},
		{"winner dropped", isWinner, func(fs *MemFS, n string) { must(t, fs.RemoveAll(n)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, n, v := passedRunWith(t, tc.pick)
			for i := range r.s.devs {
				tc.mutate(r.s.Dev(i).FS, n)
			}
			err := r.u.l.check()
			if !errors.Is(err, errLost) || !strings.Contains(err.Error(), v.String()) {
				t.Fatalf("%s at %s changed on every device, check says: %v", v, n, err)
			}
			t.Logf("%s at %s: %v", v, n, err)
		})
	}
}

func isConflictCopy(_ *MemFS, n string) bool { return strings.Contains(n, ".conflict-") }

func isWinner(fs *MemFS, n string) bool {
	return !isConflictCopy(fs, n) && slices.ContainsFunc(fs.Names(), func(c string) bool {
		return isConflictCopy(fs, c) && strings.HasPrefix(c, strings.TrimSuffix(n, path.Ext(n))+".conflict-")
	})
}

// passedRunWith returns a passed chaos run, a name that pick chose on its
// first device, and the live version that is nowhere else but there.
func passedRunWith(t *testing.T, pick func(fs *MemFS, n string) bool) (chaosRun, string, *version) {
	t.Helper()
	for seed := uint64(1); seed <= 40; seed++ {
		r, err := chaos(seed, false, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		fs := r.s.Dev(0).FS
		count := make(map[contentKey]int)
		for _, n := range fs.Names() {
			if data, ok := fs.ReadFile(n); ok {
				count[keyOfData(data)]++
			}
		}
		for _, n := range fs.Names() {
			data, ok := fs.ReadFile(n)
			if !ok || !pick(fs, n) {
				continue
			}
			k := keyOfData(data)
			if v := r.u.l.byKey[k]; v != nil && v.gone == "" && count[k] == 1 {
				return r, n, v
			}
		}
	}
	t.Fatal("no run of seeds 1 to 40 ends with such a file")
	return chaosRun{}, "", nil
}

// TestLedgerSeesLostConflicts runs chaos with folders that drop what they
// should keep as a conflict copy: every live version dropped and missing at
// the end must be reported, and some run must converge and be caught by the
// check alone.
func TestLedgerSeesLostConflicts(t *testing.T) {
	lose := func(s *Sim) {
		for _, d := range s.devs {
			d.FS.loseConflicts = true
		}
	}
	caught := 0
	for seed := uint64(1); seed <= 20 && caught < 3; seed++ {
		r, err := chaos(seed, false, lose)
		if r.s == nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		check := r.u.l.check()
		for _, v := range droppedLive(r) {
			if check == nil || !strings.Contains(check.Error(), v.String()) {
				t.Errorf("seed %d: %v was dropped and is missing, check says: %v", seed, v, check)
			}
		}
		if errors.Is(err, errLost) {
			caught++
			t.Logf("seed %d: %v", seed, err)
		}
	}
	if caught == 0 {
		t.Fatal("no run of seeds 1 to 20 converged with a version lost")
	}
}

// droppedLive returns the versions a folder dropped instead of keeping as
// a conflict copy that are missing on some device and no user superseded.
func droppedLive(r chaosRun) []*version {
	var out []*version
	for _, d := range r.s.devs {
		for _, data := range d.FS.lost {
			v := r.u.l.byKey[keyOfData(data)]
			if v == nil || v.gone != "" || slices.Contains(out, v) {
				continue
			}
			for _, o := range r.s.devs {
				if !holds(o.FS, data) {
					out = append(out, v)
					break
				}
			}
		}
	}
	return out
}
