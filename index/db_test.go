package index

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

func openTemp(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func mustFolder(t testing.TB, db *DB, id string) *Folder {
	t.Helper()
	f, err := db.Folder(id)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustMeta(t testing.TB, f *Folder) Meta {
	t.Helper()
	m, err := f.Meta()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func reopen(t *testing.T, db *DB, path string) *DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSecondOpenFails(t *testing.T) {
	_, path := openTemp(t)
	start := time.Now()
	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("second Open of the same index succeeded")
	}
	if !strings.Contains(err.Error(), "another ferry") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path and say another ferry may be running", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v to fail", d)
	}
}

func TestIndexIDs(t *testing.T) {
	db, path := openTemp(t)
	a, b := mustMeta(t, mustFolder(t, db, "a")), mustMeta(t, mustFolder(t, db, "b"))
	if a.IndexID == 0 || b.IndexID == 0 || a.IndexID == b.IndexID {
		t.Fatalf("index IDs %x and %x, want distinct and non-zero", a.IndexID, b.IndexID)
	}
	if again := mustMeta(t, mustFolder(t, db, "a")); again.IndexID != a.IndexID {
		t.Fatalf("Folder(a) again: index ID %x, want %x", again.IndexID, a.IndexID)
	}
	db = reopen(t, db, path)
	if got := mustMeta(t, mustFolder(t, db, "a")); got.IndexID != a.IndexID {
		t.Fatalf("after reopen: index ID %x, want %x", got.IndexID, a.IndexID)
	}
	if err := db.DropFolder("a"); err != nil {
		t.Fatal(err)
	}
	if got := mustMeta(t, mustFolder(t, db, "a")); got.IndexID == a.IndexID {
		t.Fatal("a recreated folder kept its old index ID")
	}
}

func TestFolders(t *testing.T) {
	db, _ := openTemp(t)
	for _, id := range []string{"photos", "docs", "music"} {
		mustFolder(t, db, id)
	}
	if err := db.DropFolder("music"); err != nil {
		t.Fatal(err)
	}
	if err := db.DropFolder("never-there"); err != nil {
		t.Fatalf("DropFolder of a missing folder: %v", err)
	}
	ids, err := db.Folders()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"docs", "photos"}; !slices.Equal(ids, want) {
		t.Fatalf("Folders() = %q, want %q", ids, want)
	}
	if _, err := db.Folder(""); err == nil {
		t.Fatal("Folder(\"\") succeeded")
	}
}

func TestDroppedFolderHandle(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "x")
	if err := db.DropFolder("x"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Meta(); err == nil || !strings.Contains(err.Error(), "not in the index") {
		t.Fatalf("Meta of a dropped folder: %v", err)
	}
	if err := f.Update(func(*Tx) error { return nil }); err == nil {
		t.Fatal("Update of a dropped folder succeeded")
	}
}

func TestMetaPersists(t *testing.T) {
	db, path := openTemp(t)
	f := mustFolder(t, db, "f")
	peerA, peerB := device(1), device(2)
	err := f.Update(func(tx *Tx) error {
		for _, seq := range []int64{5, 9, 7} {
			if err := tx.PutLocal(proto.FileInfo{Name: string(rune('a' + seq)), Sequence: seq}); err != nil {
				return err
			}
		}
		if err := tx.SetPeer(peerA, PeerMeta{IndexID: 11, Sequence: 100}); err != nil {
			return err
		}
		return tx.SetPeer(peerB, PeerMeta{IndexID: 1<<64 - 1, Sequence: 1 << 62})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := mustMeta(t, f); want.LastSequence != 9 || len(want.Peers) != 2 {
		t.Fatalf("meta %+v, want last sequence 9 and two peers", want)
	}
	db = reopen(t, db, path)
	got := mustMeta(t, mustFolder(t, db, "f"))
	if got.LastSequence != 9 || got.Peers[peerA] != (PeerMeta{11, 100}) || got.Peers[peerB] != (PeerMeta{1<<64 - 1, 1 << 62}) {
		t.Fatalf("after reopen: meta %+v", got)
	}
}

func TestSchemaVersionChecked(t *testing.T) {
	db, path := openTemp(t)
	db.Close()
	raw, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInfo).Put(keySchema, []byte{0, 0, 0, 0, 0, 0, 0, 9})
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if db, err := Open(path); err == nil || !strings.Contains(err.Error(), "schema version 9") {
		if db != nil {
			db.Close()
		}
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	_, err := open(filepath.Join(t.TempDir(), "missing-dir", "index.db"), 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "open index") {
		t.Fatalf("Open in a missing directory: %v", err)
	}
}

func device(i byte) proto.DeviceID {
	var d proto.DeviceID
	d[0], d[31] = i, i
	return d
}
