package index

import (
	"maps"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

func putSummaries(t *testing.T, f *Folder, sums map[string]Summary) {
	t.Helper()
	err := f.Update(func(tx *Tx) error {
		for _, name := range slices.Sorted(maps.Keys(sums)) {
			if err := tx.PutSummary(name, sums[name]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func needList(t *testing.T, f *Folder, need uint8, after string, reverse bool, limit int) []string {
	t.Helper()
	names, err := f.NeedAfter(need, after, reverse, limit)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestSummariesAndNeedList(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "docs")
	if ok, err := f.Summarized(); err != nil || !ok {
		t.Fatalf("a new folder is summarized: %v %v", ok, err)
	}
	putSummaries(t, f, map[string]Summary{
		"a":     {Need: 1, Flags: 3, LocalBytes: 0, GlobalBytes: 0},
		"a/b":   {Need: 2, Flags: 5, LocalBytes: -1, GlobalBytes: 1 << 40},
		"a/c":   {Need: 2},
		"a/d":   {Need: 3},
		"a/e":   {Need: 3},
		"a.txt": {Flags: 1, LocalBytes: 7, GlobalBytes: 7},
		"b":     {Need: 3},
	})
	if s, ok, err := f.SummaryOf("a/b"); err != nil || !ok || s != (Summary{Need: 2, Flags: 5, LocalBytes: -1, GlobalBytes: 1 << 40}) {
		t.Fatalf("SummaryOf(a/b) = %+v %v %v", s, ok, err)
	}
	for _, c := range []struct {
		need    uint8
		after   string
		reverse bool
		limit   int
		want    []string
	}{
		{1, "", false, 10, []string{"a"}},
		{2, "", false, 10, []string{"a/b", "a/c"}},
		{2, "a/b", false, 10, []string{"a/c"}},
		{2, "", false, 1, []string{"a/b"}},
		{3, "", false, 10, []string{"a/d", "a/e", "b"}},
		{3, "", true, 10, []string{"b", "a/e", "a/d"}},
		{3, "b", true, 10, []string{"a/e", "a/d"}},
		{3, "a/e", true, 1, []string{"a/d"}},
		{2, "", true, 10, []string{"a/c", "a/b"}},
		{1, "", true, 10, []string{"a"}},
		{4, "", false, 10, nil},
		{4, "", true, 10, nil},
	} {
		if got := needList(t, f, c.need, c.after, c.reverse, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("NeedAfter(%d, %q, %v, %d) = %q, want %q", c.need, c.after, c.reverse, c.limit, got, c.want)
		}
	}

	// A new summary moves the name on the need list; one without need
	// takes it off; a deleted one is gone from both.
	putSummaries(t, f, map[string]Summary{"a/b": {Need: 3}, "a/c": {Flags: 1}})
	err := f.Update(func(tx *Tx) error { return tx.DeleteSummary("b") })
	if err != nil {
		t.Fatal(err)
	}
	if got := needList(t, f, 2, "", false, 10); got != nil {
		t.Errorf("files to fetch after the change: %q", got)
	}
	if got := needList(t, f, 3, "", false, 10); !slices.Equal(got, []string{"a/b", "a/d", "a/e"}) {
		t.Errorf("deletions after the change: %q", got)
	}
	if _, ok, _ := f.SummaryOf("b"); ok {
		t.Error("deleted summary still there")
	}

	var names []string
	for after := ""; ; {
		page, err := f.Summaries("", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			names = append(names, s.Name)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].Name
	}
	if want := []string{"a", "a.txt", "a/b", "a/c", "a/d", "a/e"}; !slices.Equal(names, want) {
		t.Errorf("paged summaries %q, want %q", names, want)
	}
	sub, err := f.Summaries("a/", "", 10)
	if err != nil || len(sub) != 4 || sub[0].Name != "a/b" || sub[3].Name != "a/e" {
		t.Errorf("summaries under a/: %+v %v", sub, err)
	}
	sub, err = f.Summaries("a/", "a/c", 10)
	if err != nil || len(sub) != 2 || sub[0].Name != "a/d" {
		t.Errorf("summaries under a/ after a/c: %+v %v", sub, err)
	}
}

func TestRecordsOfAName(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "docs")
	p, q := device(2), device(1)
	err := f.Update(func(tx *Tx) error {
		if err := tx.PutLocal(file("x", 1, 1)); err != nil {
			return err
		}
		for _, d := range []proto.DeviceID{p, q} {
			if err := tx.PutRemote(d, file("x", 5, 2)); err != nil {
				return err
			}
		}
		return tx.PutRemote(p, file("y", 6, 3))
	})
	if err != nil {
		t.Fatal(err)
	}
	l, rs, err := f.Records("x")
	if err != nil || l == nil || l.Sequence != 1 || len(rs) != 2 || rs[0].Device != q || rs[1].Device != p {
		t.Fatalf("Records(x) = %+v %+v %v", l, rs, err)
	}
	l, rs, err = f.Records("y")
	if err != nil || l != nil || len(rs) != 1 || rs[0].Device != p {
		t.Fatalf("Records(y) = %+v %+v %v", l, rs, err)
	}

	// Range lists the summarized names with their records and summaries.
	err = f.Update(func(tx *Tx) error {
		for _, name := range []string{"x", "y"} {
			if err := tx.PutSummary(name, Summary{Flags: 1, LocalBytes: int64(len(name))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sts, err := f.Range("", "", 10)
	if err != nil || len(sts) != 2 || sts[0].Name != "x" || sts[0].Local == nil || len(sts[0].Remote) != 2 ||
		!sts[0].Summarized || sts[1].Name != "y" || sts[1].Local != nil || len(sts[1].Remote) != 1 {
		t.Fatalf("Range = %+v, %v", sts, err)
	}
	if sts, err := f.Range("", "x", 10); err != nil || len(sts) != 1 || sts[0].Name != "y" {
		t.Fatalf("Range after x = %+v, %v", sts, err)
	}
	if st, err := f.Lookup("z"); err != nil || st.Local != nil || st.Remote != nil || st.Summarized {
		t.Fatalf("Lookup(z) = %+v, %v", st, err)
	}
	if n, err := f.CountRemote(p); err != nil || n != 2 {
		t.Fatalf("CountRemote(p) = %d, %v; want 2", n, err)
	}
	if n, err := f.CountRemote(device(9)); err != nil || n != 0 {
		t.Fatalf("CountRemote of a device with no records = %d, %v", n, err)
	}
	if devs, err := f.RemoteDevices(); err != nil || len(devs) != 2 || devs[0] != q || devs[1] != p {
		t.Fatalf("RemoteDevices = %v, %v", devs, err)
	}
}

// An index of schema version 1 is upgraded in place: its folders get the
// new buckets, keep their records and say they are not summarized.
func TestUpgradeFromSchema1(t *testing.T) {
	db, path := openTemp(t)
	f := mustFolder(t, db, "docs")
	put(t, f, file("x", 1, 1))
	db.Close()
	raw, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bolt.Tx) error {
		fb := tx.Bucket(bucketFolders).Bucket([]byte("docs"))
		for _, b := range [][]byte{bucketSummary, bucketNeed} {
			if err := fb.DeleteBucket(b); err != nil {
				return err
			}
		}
		if err := fb.Bucket(bucketMeta).Delete(keySummaries); err != nil {
			return err
		}
		return tx.Bucket(bucketInfo).Put(keySchema, []byte{0, 0, 0, 0, 0, 0, 0, 1})
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	db, err = Open(path)
	if err != nil {
		t.Fatalf("open schema 1: %v", err)
	}
	defer db.Close()
	f = mustFolder(t, db, "docs")
	if ok, err := f.Summarized(); err != nil || ok {
		t.Fatalf("upgraded folder summarized = %v, %v; want false", ok, err)
	}
	if _, ok := get(t, f, Local, "x"); !ok {
		t.Fatal("record lost in the upgrade")
	}
	putSummaries(t, f, map[string]Summary{"x": {Flags: 1}})
	if err := f.Update(func(tx *Tx) error { return tx.MarkSummarized() }); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.Summarized(); !ok {
		t.Fatal("not summarized after MarkSummarized")
	}
}

// Until a folder is summarized, Range lists every name with a local or a
// remote record, each once, in byte order, whether or not it has a summary
// yet: the engine gives them their summaries in that order.
func TestRangeBeforeSummaries(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "docs")
	p, q := device(1), device(2)
	err := f.Update(func(tx *Tx) error {
		for _, r := range []struct {
			dev  proto.DeviceID
			name string
		}{{proto.DeviceID{}, "b"}, {proto.DeviceID{}, "e/f"}, {p, "a"}, {p, "b"}, {p, "c"}, {q, "b"}, {q, "d"}, {q, "e/g"}} {
			fi := file(r.name, int64(1+len(r.name)), 1)
			if r.dev.IsZero() {
				if err := tx.PutLocal(fi); err != nil {
					return err
				}
			} else if err := tx.PutRemote(r.dev, fi); err != nil {
				return err
			}
		}
		return tx.PutSummary("c", Summary{Flags: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFolders).Bucket([]byte("docs")).Bucket(bucketMeta).Delete(keySummaries)
	})
	if err != nil {
		t.Fatal(err)
	}
	names := func(prefix, after string, limit int) []string {
		t.Helper()
		sts, err := f.Range(prefix, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, st := range sts {
			out = append(out, st.Name)
		}
		return out
	}
	for _, c := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 100, []string{"a", "b", "c", "d", "e/f", "e/g"}},
		{"", "", 2, []string{"a", "b"}},
		{"", "b", 2, []string{"c", "d"}},
		{"", "bb", 100, []string{"c", "d", "e/f", "e/g"}},
		{"e/", "", 100, []string{"e/f", "e/g"}},
		{"e/", "e/f", 100, []string{"e/g"}},
		{"", "e/g", 100, nil},
	} {
		if got := names(c.prefix, c.after, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("Range(%q, %q, %d) = %q, want %q", c.prefix, c.after, c.limit, got, c.want)
		}
	}
	sts, _ := f.Range("", "a", 1)
	if len(sts) != 1 || sts[0].Local == nil || len(sts[0].Remote) != 2 || sts[0].Summarized {
		t.Errorf("Range gives b as %+v", sts)
	}
	if err := f.Update(func(tx *Tx) error { return tx.MarkSummarized() }); err != nil {
		t.Fatal(err)
	}
	if got := names("", "", 100); !slices.Equal(got, []string{"c"}) {
		t.Errorf("summarized: Range = %q, want the summarized names", got)
	}
}
