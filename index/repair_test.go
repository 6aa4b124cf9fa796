package index

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ferry/proto"
)

func TestOpenCheckedRecovers(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	good := func(t *testing.T, path string) {
		t.Helper()
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := db.Folder("docs")
		if err != nil {
			t.Fatal(err)
		}
		err = f.Update(func(tx *Tx) error {
			for i := range 500 {
				rec := proto.FileInfo{Name: string(rune('a'+i%26)) + string(rune('a'+i/26)), Size: int64(i), Sequence: int64(i + 1), Version: proto.Vector{{ID: 1, Value: 1}}}
				if err := tx.PutLocal(rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, path string)
		missing bool
		damaged bool
	}{
		{name: "missing", damage: func(*testing.T, string) {}, missing: true},
		{name: "intact", damage: good},
		{name: "truncated", damaged: true, damage: func(t *testing.T, path string) {
			good(t, path)
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/3); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "garbage", damaged: true, damage: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("this is not a database, just some bytes on disk"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "pages overwritten", damaged: true, damage: func(t *testing.T, path string) {
			good(t, path)
			fh, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			junk := make([]byte, 16<<10)
			for i := range junk {
				junk[i] = byte(i*7 + 3)
			}
			fh.WriteAt(junk, 3*4096) // past both meta pages
			fh.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "index.db")
			tc.damage(t, path)
			db, rec, err := OpenChecked(path, now)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if rec.Missing != tc.missing || (rec.Damaged != nil) != tc.damaged {
				t.Fatalf("recovery %+v, want missing %t damaged %t", rec, tc.missing, tc.damaged)
			}
			if tc.damaged {
				if want := path + ".damaged-20261202-100000"; rec.KeptAt != want {
					t.Errorf("kept at %q, want %q", rec.KeptAt, want)
				}
				if _, err := os.Stat(rec.KeptAt); err != nil {
					t.Errorf("damaged file not kept: %v", err)
				}
			}
			if _, err := db.Folder("docs"); err != nil {
				t.Errorf("the index is not usable: %v", err)
			}
		})
	}
}

func TestOpenCheckedLockedIsNotDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, rec, err := OpenChecked(path, time.Now()); err == nil || rec.Damaged != nil {
		t.Fatalf("a locked index: err %v, recovery %+v", err, rec)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		t.Fatal("the locked index was moved")
	}
}
