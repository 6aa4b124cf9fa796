package engine

import (
	"fmt"
	"hash/fnv"
	"path"
	"slices"
	"strings"

	"ferry/proto"
)

// Names is what the engine knows of the names the folder's file system can
// hold. Every name that travels is valid (proto.ValidName), but a peer on
// another system may have one this file system refuses ("CON.txt" on
// Windows) or takes for the same name as another ("a.txt" and "A.txt"
// where case is ignored). Such a name is never pulled: its status says
// why until its record, or that of a name it clashes with, changes.
type Names interface {
	// Problem returns why name cannot be stored here, "" when it can.
	Problem(name string) string
	// CaseInsensitive reports whether the file system ignores case, so
	// that names with equal Fold forms are one name on disk.
	CaseInsensitive() bool
	// Fold returns the form under which the file system takes names to be
	// the same.
	Fold(name string) string
}

// renameHint ends the reason of a name that cannot be stored here: the fix
// is on the device that has it.
const renameHint = "; rename it on the device that has it"

// refusal is a version of a name the driver found the file system refuses
// (OpResult.BadName). It is not tried again until the global version
// changes or a scan looks at the name.
type refusal struct {
	version proto.Vector
	err     string
}

// storable reports whether the live global record g of name may be
// written now. A name that cannot be stored here is recorded for status,
// and told once, instead. A name the file system takes for that of an
// entry on its way out (a rename that changed only case) waits until the
// entry is gone.
func (s *syncer) storable(name string, g *proto.FileInfo) bool {
	if r, ok := s.refused[name]; ok {
		if r.version.Equal(g.Version) {
			return false
		}
		delete(s.refused, name)
	}
	reason, wait := s.unfit(name)
	if reason == "" {
		delete(s.unstorable, name)
		return !wait
	}
	if s.unstorable[name] != reason {
		s.unstorable[name] = reason
		s.e.rd.Events = append(s.e.rd.Events, NameRefused{Name: name, Reason: reason})
	}
	return false
}

// unfit returns why name, whose global record is live, cannot be stored
// here: the file system refuses the name, or it takes it, or a directory
// above it, for the same name as an entry that is here, or that is synced
// instead because its name sorts first. wait says an entry with the same
// name is here but on its way out.
func (s *syncer) unfit(name string) (reason string, wait bool) {
	names := s.e.cfg.Names
	if names == nil || s.here(name) {
		return "", false
	}
	if p := names.Problem(name); p != "" {
		return p + renameHint, false
	}
	if s.e.files.folds == nil {
		return "", false
	}
	for p := name; p != "."; p = path.Dir(p) {
		if p != name && s.here(p) {
			break // p is on disk, and so is everything above it
		}
		other, leaving := s.clash(p)
		if other != "" {
			return fmt.Sprintf("%q and %q are one name on this device, whose file system ignores case; rename one of them on the device that has them", p, other), false
		}
		wait = wait || leaving
	}
	return "", wait
}

// clash returns a name the file system takes for p that is here (or being
// written) and stays, else one that is synced instead of p: it stays and
// sorts before p. leaving says a name like p is here but goes.
func (s *syncer) clash(p string) (other string, leaving bool) {
	same := s.e.files.folds.same(p)
	var first string
	for _, m := range same {
		g := s.global(m)
		stays := g != nil && !g.Deleted
		switch {
		case s.here(m) && stays:
			return m, false
		case s.here(m):
			leaving = true
		case stays && m < p && first == "" && s.e.cfg.Names.Problem(m) == "":
			first = m
		}
	}
	return first, leaving
}

// here reports whether name is on disk as far as the engine knows: a live
// local record, or an operation in flight that writes or removes it.
func (s *syncer) here(name string) bool {
	if p := s.inflight[name]; p != nil {
		return true
	}
	l := s.e.files.local(name)
	return l != nil && !l.Deleted
}

// global returns the global record of name, nil if it has none.
func (s *syncer) global(name string) *proto.FileInfo {
	en := s.e.files.lookup(name)
	if en == nil {
		return nil
	}
	g, _ := s.e.global(en)
	return g
}

// refuse records that the file system refused to store version v of name.
func (s *syncer) refuse(name string, v proto.Vector, err error) {
	reason := fmt.Sprintf("the file system here refused the name: %v%s", err, renameHint)
	s.refused[name] = refusal{version: v, err: reason}
	s.e.rd.Events = append(s.e.rd.Events, NameRefused{Name: name, Reason: reason})
}

// rescanned forgets the refusals at or under subtree, which a scan has just
// looked at: the next rebuild tries them again.
func (s *syncer) rescanned(subtree string) {
	for name := range s.refused {
		if covers(subtree, name) {
			delete(s.refused, name)
			s.dirty = true
		}
	}
}

// forgetUnfit drops what is recorded of name as unfit or refused.
func (s *syncer) forgetUnfit(name string) {
	delete(s.unstorable, name)
	delete(s.refused, name)
}

// unfitErrors returns the status lines of names that cannot be stored.
func (s *syncer) unfitErrors() []string {
	var out []string
	for name, reason := range s.unstorable {
		out = append(out, fmt.Sprintf("%s: %s", name, reason))
	}
	for name, r := range s.refused {
		out = append(out, fmt.Sprintf("%s: %s", name, r.err))
	}
	return out
}

// foldIndex finds the names of the table that a case-insensitive file
// system takes for the same name. It keeps a hash of each name's folded
// form, not the form itself, and checks candidates by folding them again.
type foldIndex struct {
	fold  func(string) string
	first map[uint64]string
	more  map[uint64][]string // names after the first with the same hash
}

func newFoldIndex(fold func(string) string) *foldIndex {
	return &foldIndex{fold: fold, first: make(map[uint64]string), more: make(map[uint64][]string)}
}

func (x *foldIndex) key(folded string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(folded))
	return h.Sum64()
}

// add adds name, if it is not there yet.
func (x *foldIndex) add(name string) {
	k := x.key(x.fold(name))
	first, ok := x.first[k]
	switch {
	case !ok:
		x.first[k] = name
	case first != name && !slices.Contains(x.more[k], name):
		x.more[k] = append(x.more[k], name)
	}
}

func (x *foldIndex) remove(name string) {
	k := x.key(x.fold(name))
	more := x.more[k]
	if x.first[k] == name {
		if len(more) == 0 {
			delete(x.first, k)
			return
		}
		x.first[k], more = more[0], more[1:]
	} else if i := slices.Index(more, name); i >= 0 {
		more = slices.Delete(more, i, i+1)
	}
	if len(more) == 0 {
		delete(x.more, k)
	} else {
		x.more[k] = more
	}
}

// same returns the other names that fold like name, sorted.
func (x *foldIndex) same(name string) []string {
	f := x.fold(name)
	k := x.key(f)
	first, ok := x.first[k]
	if !ok {
		return nil
	}
	var out []string
	for _, m := range append([]string{first}, x.more[k]...) {
		if m != name && x.fold(m) == f {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, strings.Compare)
	return out
}
