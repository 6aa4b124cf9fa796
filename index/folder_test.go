package index

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

func file(name string, seq int64, hashes ...byte) proto.FileInfo {
	f := proto.FileInfo{Name: name, Type: proto.FileTypeFile, Sequence: seq, Mode: 0o644, Inode: uint64(seq) + 1000}
	for i, h := range hashes {
		f.Blocks = append(f.Blocks, proto.Block{Offset: int64(i) * 10, Size: 10, Hash: hashOf(h)})
		f.Size += 10
	}
	return f
}

func put(t *testing.T, f *Folder, files ...proto.FileInfo) {
	t.Helper()
	err := f.Update(func(tx *Tx) error {
		for _, fi := range files {
			if err := tx.PutLocal(fi); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, f *Folder, dev proto.DeviceID, name string) (proto.FileInfo, bool) {
	t.Helper()
	rec, ok, err := f.Get(dev, name)
	if err != nil {
		t.Fatal(err)
	}
	return rec, ok
}

func since(t *testing.T, f *Folder, seq int64, limit int) []string {
	t.Helper()
	var out []string
	err := f.LocalSince(seq, limit, func(fi proto.FileInfo) error {
		out = append(out, fmt.Sprintf("%s@%d", fi.Name, fi.Sequence))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func source(t *testing.T, f *Folder, h byte) string {
	t.Helper()
	name, off, ok, err := f.BlockSource(hashOf(h))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s+%d", name, off)
}

func TestPutGetReplace(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	a := file("a", 1, 1, 2)
	a.Version = proto.Vector{{ID: 5, Value: 1}}
	put(t, f, a, file("b", 2, 3))
	if got, ok := get(t, f, Local, "a"); !ok || !reflect.DeepEqual(got, a) {
		t.Fatalf("Get(a) = %v, %v; want %v", got, ok, a)
	}
	if _, ok := get(t, f, Local, "nope"); ok {
		t.Fatal("Get of a missing name found it")
	}
	if _, ok := get(t, f, device(1), "a"); ok {
		t.Fatal("Get of an unknown device's record found it")
	}
	a2 := file("a", 3, 4)
	put(t, f, a2)
	if got, _ := get(t, f, Local, "a"); !reflect.DeepEqual(got, a2) {
		t.Fatalf("after replace Get(a) = %v, want %v", got, a2)
	}
	if got, want := since(t, f, 0, 0), []string{"b@2", "a@3"}; !slices.Equal(got, want) {
		t.Fatalf("LocalSince(0) = %v, want %v (old sequence of a must be gone)", got, want)
	}
}

func TestLocalSince(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	put(t, f, file("z", 3), file("y", 1), file("x", 20), file("w", 4), file("v", 300))
	tests := []struct {
		seq   int64
		limit int
		want  []string
	}{
		{0, 0, []string{"y@1", "z@3", "w@4", "x@20", "v@300"}},
		{-7, 2, []string{"y@1", "z@3"}},
		{3, 0, []string{"w@4", "x@20", "v@300"}},
		{4, 1, []string{"x@20"}},
		{5, 10, []string{"x@20", "v@300"}},
		{300, 0, nil},
	}
	for _, tt := range tests {
		if got := since(t, f, tt.seq, tt.limit); !slices.Equal(got, tt.want) {
			t.Errorf("LocalSince(%d, %d) = %v, want %v", tt.seq, tt.limit, got, tt.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := f.LocalSince(0, 0, func(proto.FileInfo) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("LocalSince with a failing fn: %v after %d calls, want stop after 1", err, n)
	}
}

func TestPutLocalRejects(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	put(t, f, file("a", 5))
	tests := []struct {
		rec  proto.FileInfo
		want string
	}{
		{file("b", 0), "not positive"},
		{file("b", -3), "not positive"},
		{file("b", 5), `already belongs to "a"`},
		{file("", 6), "empty name"},
		{proto.FileInfo{Name: "b", Type: 9, Sequence: 6}, "unknown file type"},
	}
	for _, tt := range tests {
		err := f.Update(func(tx *Tx) error { return tx.PutLocal(tt.rec) })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("PutLocal(%v) = %v, want an error containing %q", tt.rec, err, tt.want)
		}
	}
	if m := mustMeta(t, f); m.LastSequence != 5 {
		t.Fatalf("last sequence %d after rejected writes, want 5", m.LastSequence)
	}
}

func TestUpdateRollsBack(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	boom := errors.New("boom")
	err := f.Update(func(tx *Tx) error {
		if err := tx.PutLocal(file("a", 1, 1)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want %v", err, boom)
	}
	if _, ok := get(t, f, Local, "a"); ok || source(t, f, 1) != "" || mustMeta(t, f).LastSequence != 0 {
		t.Fatal("a failed Update left changes behind")
	}
}

func TestBlockMap(t *testing.T) {
	db, path := openTemp(t)
	f := mustFolder(t, db, "f")
	put(t, f, file("a", 1, 1, 2, 1), file("b", 2, 2, 3))
	steps := []struct {
		desc   string
		update proto.FileInfo
		want   map[byte]string // block hash → source; "" for none
	}{
		{"initial", proto.FileInfo{}, map[byte]string{1: "a+20", 2: "a+10", 3: "b+10", 4: ""}},
		{"replace a", file("a", 3, 4), map[byte]string{1: "", 2: "b+0", 3: "b+10", 4: "a+0"}},
		{"delete b", proto.FileInfo{Name: "b", Type: proto.FileTypeFile, Deleted: true, Sequence: 4, Blocks: file("b", 4, 2, 3).Blocks},
			map[byte]string{2: "", 3: "", 4: "a+0"}},
		{"a becomes a dir", proto.FileInfo{Name: "a", Type: proto.FileTypeDir, Sequence: 5}, map[byte]string{4: ""}},
		{"c appears", file("c", 6, 5, 6), map[byte]string{5: "c+0", 6: "c+10"}},
	}
	for _, step := range steps {
		if step.update.Name != "" {
			put(t, f, step.update)
		}
		for h, want := range step.want {
			if got := source(t, f, h); got != want {
				t.Errorf("%s: BlockSource(%d) = %q, want %q", step.desc, h, got, want)
			}
		}
	}
	f = mustFolder(t, reopen(t, db, path), "f")
	if got := source(t, f, 6); got != "c+10" {
		t.Fatalf("after reopen BlockSource(6) = %q, want c+10", got)
	}
}

func TestHasBlock(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	put(t, f, file("a", 1, 1, 2), file("b", 2, 2, 3))
	check := func(desc string, want map[string][]byte) {
		t.Helper()
		for _, name := range []string{"a", "b", "c"} {
			for h := byte(1); h <= 4; h++ {
				has, err := f.HasBlock(hashOf(h), name)
				if wantHas := slices.Contains(want[name], h); err != nil || has != wantHas {
					t.Errorf("%s: HasBlock(%d, %s) = %v, %v; want %v", desc, h, name, has, err, wantHas)
				}
			}
		}
	}
	check("initial", map[string][]byte{"a": {1, 2}, "b": {2, 3}})
	put(t, f, file("a", 3, 4))
	check("a replaced", map[string][]byte{"a": {4}, "b": {2, 3}})
	put(t, f, proto.FileInfo{Name: "b", Type: proto.FileTypeFile, Deleted: true, Sequence: 4, Blocks: file("b", 4, 2, 3).Blocks})
	check("b deleted", map[string][]byte{"a": {4}})
}

func TestRemote(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	d1, d2 := device(1), device(2)
	r1, r2 := file("x", 7, 9), file("y", 8)
	err := f.Update(func(tx *Tx) error {
		for _, err := range []error{
			tx.PutRemote(d1, r1), tx.PutRemote(d1, r2), tx.PutRemote(d2, r1),
			tx.SetPeer(d1, PeerMeta{IndexID: 1, Sequence: 8}), tx.SetPeer(d2, PeerMeta{IndexID: 2, Sequence: 7}),
		} {
			if err != nil {
				return err
			}
		}
		return tx.PutLocal(file("x", 1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := get(t, f, d1, "x"); !ok || !reflect.DeepEqual(got, r1) {
		t.Fatalf("Get(d1, x) = %v, %v", got, ok)
	}
	if source(t, f, 9) != "" {
		t.Fatal("a remote record's block is in the block map")
	}
	want := []string{"local x@1", "d1 x@7", "d1 y@8", "d2 x@7"}
	if got := each(t, f); !slices.Equal(got, want) {
		t.Fatalf("Each = %v, want %v", got, want)
	}
	if err := f.Update(func(tx *Tx) error { return tx.DropRemote(d1) }); err != nil {
		t.Fatal(err)
	}
	if got, want := each(t, f), []string{"local x@1", "d2 x@7"}; !slices.Equal(got, want) {
		t.Fatalf("after DropRemote Each = %v, want %v", got, want)
	}
	if m := mustMeta(t, f); len(m.Peers) != 1 || m.Peers[d2] != (PeerMeta{2, 7}) {
		t.Fatalf("after DropRemote peers = %v", m.Peers)
	}
	if err := f.Update(func(tx *Tx) error { return tx.DropRemote(device(3)) }); err != nil {
		t.Fatalf("DropRemote of an unknown device: %v", err)
	}
	if err := f.Update(func(tx *Tx) error { return tx.PutRemote(Local, r1) }); err == nil {
		t.Fatal("PutRemote with the zero device succeeded")
	}
}

func each(t *testing.T, f *Folder) []string {
	t.Helper()
	var out []string
	err := f.Each(func(dev proto.DeviceID, fi proto.FileInfo) error {
		who := "local"
		if dev != Local {
			who = fmt.Sprintf("d%d", dev[0])
		}
		out = append(out, fmt.Sprintf("%s %s@%d", who, fi.Name, fi.Sequence))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFoldersAreSeparate(t *testing.T) {
	db, _ := openTemp(t)
	a, b := mustFolder(t, db, "a"), mustFolder(t, db, "b")
	put(t, a, file("x", 1, 1))
	if _, ok := get(t, b, Local, "x"); ok || source(t, b, 1) != "" || len(each(t, b)) != 0 {
		t.Fatal("a record of folder a is visible in folder b")
	}
}

func TestCorruptRecordIsAnError(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	put(t, f, file("a", 1))
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFolders).Bucket([]byte("f")).Bucket(bucketLocal).Put([]byte("a"), []byte{1, 0})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Get(Local, "a"); err == nil {
		t.Error("Get of a corrupt record succeeded")
	}
	if err := f.Each(func(proto.DeviceID, proto.FileInfo) error { return nil }); err == nil {
		t.Error("Each over a corrupt record succeeded")
	}
	if err := f.LocalSince(0, 0, func(proto.FileInfo) error { return nil }); err == nil {
		t.Error("LocalSince over a corrupt record succeeded")
	}
	if err := f.Update(func(tx *Tx) error { return tx.PutLocal(file("a", 2)) }); err == nil {
		t.Error("replacing a corrupt record succeeded")
	}
}
