package history

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"ferry/proto"
)

func openTest(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func block(b byte) proto.Block { return proto.Block{Size: 1, Hash: proto.Hash{b}} }

// version returns a version of name that ended at until and lists blocks.
func version(name string, until time.Time, blocks ...proto.Block) Version {
	f := proto.FileInfo{Name: name, Size: int64(len(blocks)), Mode: 0o644, ModTime: until.Add(-time.Hour).UnixNano(),
		Version: proto.Vector{{ID: 7, Value: uint64(until.Unix())}}, ModifiedBy: 7, Blocks: blocks}
	for i := range f.Blocks {
		f.Blocks[i].Offset = int64(i)
	}
	return Version{Folder: "docs", File: f, Until: until, Since: until.Add(-time.Hour), Kind: Replaced, By: 9}
}

func listed(t *testing.T, db *DB, h proto.Hash) bool {
	t.Helper()
	var got bool
	if err := db.Referenced(func(l func(proto.Hash) bool) error { got = l(h); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAddAndList(t *testing.T) {
	db, path := openTest(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, v := range []Version{
		version("b.txt", t0.Add(2*time.Hour), block(1)),
		version("a.txt", t0, block(1), block(2)),
		version("b.txt", t0.Add(time.Hour), block(3)),
		version("b.txt/x", t0, block(4)),
	} {
		got, err := db.Add(v)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != uint64(i+1) {
			t.Errorf("version %d got ID %d", i, got.ID)
		}
	}
	db.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vs, err := db.Versions("docs", "b.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || !vs[0].Until.Equal(t0.Add(time.Hour)) || !vs[1].Until.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("versions of b.txt: %+v, want two, oldest first", vs)
	}
	v := vs[0]
	if v.ID != 3 || v.Kind != Replaced || v.By != 9 || !v.Since.Equal(t0) || v.File.Blocks[0].Hash != (proto.Hash{3}) ||
		v.File.Mode != 0o644 || !v.File.Version.Equal(proto.Vector{{ID: 7, Value: uint64(t0.Add(time.Hour).Unix())}}) {
		t.Errorf("version read back as %+v", v)
	}
	var names []string
	if err := db.Each("docs", func(v Version) error { names = append(names, v.File.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.txt", "b.txt", "b.txt", "b.txt/x"}; len(names) != len(want) || names[0] != want[0] || names[3] != want[3] {
		t.Errorf("each visits %q, want %q", names, want)
	}
	if _, err := db.Get("docs", "b.txt", 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("get of an unknown ID: %v", err)
	}
	if vs, _ := db.Versions("other", "b.txt"); len(vs) != 0 {
		t.Errorf("another folder has %d versions", len(vs))
	}
}

func TestAddRefuses(t *testing.T) {
	db, _ := openTest(t)
	now := time.Now()
	for name, v := range map[string]Version{
		"no folder": {File: proto.FileInfo{Name: "a"}, Until: now},
		"no name":   {Folder: "docs", Until: now},
		"NUL name":  {Folder: "docs", File: proto.FileInfo{Name: "a\x00b"}, Until: now},
		"no time":   {Folder: "docs", File: proto.FileInfo{Name: "a"}},
		"bad size":  {Folder: "docs", File: proto.FileInfo{Name: "a", Size: -1}, Until: now},
	} {
		if _, err := db.Add(v); err == nil {
			t.Errorf("%s: added", name)
		}
	}
}

// A block stays listed while any kept version lists it.
func TestReferencesFollowVersions(t *testing.T) {
	db, _ := openTest(t)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	old := version("f", now.Add(-400*24*time.Hour), block(1), block(2), block(2))
	recent := version("f", now.Add(-time.Minute), block(2), block(3))
	for _, v := range []Version{old, recent} {
		if _, err := db.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	for b, want := range map[byte]bool{1: true, 2: true, 3: true, 4: false} {
		if got := listed(t, db, proto.Hash{b}); got != want {
			t.Errorf("block %d listed = %t, want %t", b, got, want)
		}
	}
	n, err := db.Prune("docs", Default(), now)
	if err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want the version older than a year dropped", n, err)
	}
	for b, want := range map[byte]bool{1: false, 2: true, 3: true} {
		if got := listed(t, db, proto.Hash{b}); got != want {
			t.Errorf("after prune: block %d listed = %t, want %t", b, got, want)
		}
	}
	if err := db.DropFolder("docs"); err != nil {
		t.Fatal(err)
	}
	for _, b := range []byte{2, 3} {
		if listed(t, db, proto.Hash{b}) {
			t.Errorf("block %d still listed after the folder was dropped", b)
		}
	}
	if vs, _ := db.Versions("docs", "f"); len(vs) != 0 {
		t.Errorf("%d versions left after the folder was dropped", len(vs))
	}
}

// Prune applies the policy to each name's versions on their own.
func TestPruneJudgesEachName(t *testing.T) {
	db, _ := openTest(t)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	// Ten versions of a, one per hour three days ago: one is kept (that
	// day's last). One of b from the same day: kept, it is b's only one.
	for i := range 10 {
		if _, err := db.Add(version("a", now.Add(-72*time.Hour+time.Duration(i)*time.Hour), block(byte(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Add(version("b", now.Add(-70*time.Hour), block(50))); err != nil {
		t.Fatal(err)
	}
	n, err := db.Prune("docs", Default(), now)
	if err != nil || n != 9 {
		t.Fatalf("prune = %d, %v; want 9 of a's versions dropped", n, err)
	}
	a, _ := db.Versions("docs", "a")
	b, _ := db.Versions("docs", "b")
	if len(a) != 1 || !a[0].Until.Equal(now.Add(-63*time.Hour)) || len(b) != 1 {
		t.Errorf("kept %d of a (%v) and %d of b; want a's last of that day and b", len(a), a, len(b))
	}
	if n, _ := db.Prune("docs", Default(), now); n != 0 {
		t.Errorf("pruning again dropped %d", n)
	}
	none, _ := ParseKeep("none")
	if n, _ := db.Prune("docs", none, now); n != 2 {
		t.Errorf("prune with none dropped %d, want both left", n)
	}
}

// AddAll keeps many versions in one transaction, with consecutive IDs, or
// none of them when one is bad.
func TestAddAll(t *testing.T) {
	db, _ := openTest(t)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	vs, err := db.AddAll([]Version{version("a", now, block(1)), version("b", now, block(1), block(2))})
	if err != nil || len(vs) != 2 || vs[0].ID != 1 || vs[1].ID != 2 {
		t.Fatalf("AddAll = %+v, %v", vs, err)
	}
	bad := version("c", now, block(3))
	bad.Folder = ""
	if _, err := db.AddAll([]Version{version("d", now, block(4)), bad}); err == nil {
		t.Fatal("a batch with a bad version was taken")
	}
	if d, _ := db.Versions("docs", "d"); len(d) != 0 || listed(t, db, proto.Hash{4}) {
		t.Errorf("a refused batch left %d versions of d behind", len(d))
	}
	if v, err := db.Add(version("e", now, block(5))); err != nil || v.ID != 3 {
		t.Errorf("the next Add got ID %d, %v; want 3", v.ID, err)
	}
}
