package history

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"ferry/index"
	"ferry/proto"
)

// Kind says how a version left the folder.
type Kind uint8

const (
	// Replaced: a newer version from another device took its place.
	Replaced Kind = iota + 1
	// Deleted: another device deleted it.
	Deleted
	// Conflict: it lost a conflict with another device's version; a copy
	// named *.conflict-* was kept beside the winner too.
	Conflict
	// Reverted: a change made here was undone (a receive-only folder put
	// back to what the other devices have).
	Reverted
)

func (k Kind) String() string {
	switch k {
	case Replaced:
		return "edited"
	case Deleted:
		return "deleted"
	case Conflict:
		return "conflict copy"
	case Reverted:
		return "reverted"
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// Version is an old version of a file that this device kept.
type Version struct {
	ID     uint64 // unique in the database, assigned by Add
	Folder string
	// File is the record as it was: name, size, modification time,
	// permission bits, version vector, blocks and the device that made it.
	File  proto.FileInfo
	Since time.Time // when it became the file here; zero when unknown
	Until time.Time // when it was replaced or deleted here
	Kind  Kind
	By    proto.ShortID // the device whose change replaced it
}

// Limits on what Add takes, so that one bad record cannot make the
// database unreadable or its transactions huge.
const (
	maxBlocksPerVersion = 1 << 22 // 4 Mi blocks: a 256 TiB file at 64 KiB
	maxFolderID         = 64
	pruneBatch          = 10_000 // versions deleted per transaction
)

var (
	bucketFolders = []byte("folders") // folder ID → versions by name\0until id
	bucketRefs    = []byte("refs")    // block hash → how many versions list it
	bucketMeta    = []byte("meta")
	keyNextID     = []byte("next")
	keySchema     = []byte("schema")
)

const schemaVersion = 1

// ErrNotFound says no kept version matches.
var ErrNotFound = errors.New("no such version")

// DB is the version history of every folder of this device: the records
// of old versions, and for each block how many of them list it, which
// tells the block store what it must keep. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
}

// Open opens or creates the history database at path.
func Open(path string) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open history %s: it is locked (is another ferry running with the same home?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	if err := b.Update(initSchema); err != nil {
		b.Close()
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	return &DB{bolt: b, path: path}, nil
}

func initSchema(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketFolders, bucketRefs} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch v := meta.Get(keySchema); {
	case v == nil:
		return meta.Put(keySchema, []byte{schemaVersion})
	case len(v) != 1 || v[0] != schemaVersion:
		return fmt.Errorf("history schema %x, this ferry reads %d", v, schemaVersion)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close history %s: %w", db.path, err)
	}
	return nil
}

// Add keeps v and counts its blocks as listed once more; it returns v with
// its ID. The caller stores the blocks first: a version is only added once
// everything it needs is kept.
func (db *DB) Add(v Version) (Version, error) {
	vs, err := db.AddAll([]Version{v})
	if err != nil {
		return v, err
	}
	return vs[0], nil
}

// AddAll is Add for many versions, in one transaction: all are kept or
// none.
func (db *DB) AddAll(vs []Version) ([]Version, error) {
	for _, v := range vs {
		if err := checkVersion(v); err != nil {
			return nil, err
		}
	}
	out := slices.Clone(vs)
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		id := uint64(1)
		if b := meta.Get(keyNextID); len(b) == 8 {
			id = binary.BigEndian.Uint64(b)
		}
		for i := range out {
			v := &out[i]
			v.ID = id
			id++
			val, err := encode(v)
			if err != nil {
				return fmt.Errorf("%s: %w", v.File.Name, err)
			}
			fb, err := tx.Bucket(bucketFolders).CreateBucketIfNotExists([]byte(v.Folder))
			if err != nil {
				return err
			}
			if err := fb.Put(versionKey(v.File.Name, v.Until, v.ID), val); err != nil {
				return err
			}
			if err := addRefs(tx.Bucket(bucketRefs), v.File.Blocks, 1); err != nil {
				return err
			}
		}
		return meta.Put(keyNextID, binary.BigEndian.AppendUint64(nil, id))
	})
	if err != nil {
		return nil, fmt.Errorf("history add: %w", err)
	}
	return out, nil
}

// checkVersion refuses what Add must not store.
func checkVersion(v Version) error {
	switch {
	case v.Folder == "" || len(v.Folder) > maxFolderID:
		return fmt.Errorf("history add: bad folder ID %q", v.Folder)
	case v.File.Name == "" || strings.IndexByte(v.File.Name, 0) >= 0:
		return fmt.Errorf("history add: bad name %q", v.File.Name)
	case len(v.File.Blocks) > maxBlocksPerVersion:
		return fmt.Errorf("history add %s: %d blocks is more than %d", v.File.Name, len(v.File.Blocks), maxBlocksPerVersion)
	case v.Until.IsZero():
		return fmt.Errorf("history add %s: no time it was replaced", v.File.Name)
	}
	return nil
}

// Versions returns the kept versions of name in folder, oldest first.
func (db *DB) Versions(folder, name string) ([]Version, error) {
	var out []Version
	err := db.bolt.View(func(tx *bolt.Tx) error {
		fb := tx.Bucket(bucketFolders).Bucket([]byte(folder))
		if fb == nil {
			return nil
		}
		prefix := append([]byte(name), 0)
		c := fb.Cursor()
		for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
			v, err := decode(folder, k, val)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history of %s in folder %s: %w", name, folder, err)
	}
	return out, nil
}

// Each calls fn for every kept version of folder, by name and then oldest
// first, in one read transaction: fn must not write to the history.
func (db *DB) Each(folder string, fn func(Version) error) error {
	err := db.bolt.View(func(tx *bolt.Tx) error {
		fb := tx.Bucket(bucketFolders).Bucket([]byte(folder))
		if fb == nil {
			return nil
		}
		return fb.ForEach(func(k, val []byte) error {
			v, err := decode(folder, k, val)
			if err != nil {
				return err
			}
			return fn(v)
		})
	})
	if err != nil {
		return fmt.Errorf("history of folder %s: %w", folder, err)
	}
	return nil
}

// Get returns the version with id of folder's name.
func (db *DB) Get(folder, name string, id uint64) (Version, error) {
	vs, err := db.Versions(folder, name)
	if err != nil {
		return Version{}, err
	}
	for _, v := range vs {
		if v.ID == id {
			return v, nil
		}
	}
	return Version{}, fmt.Errorf("version %d of %s in folder %s: %w", id, name, folder, ErrNotFound)
}

// Prune drops the versions of folder that p does not keep at now and
// returns how many it dropped. Each name's versions are judged together;
// deletions are committed in batches, each with the reference counts of the
// blocks it frees, so a crash at any point leaves a consistent history.
func (db *DB) Prune(folder string, p Policy, now time.Time) (removed int, err error) {
	var doomed [][]byte
	err = db.bolt.View(func(tx *bolt.Tx) error {
		fb := tx.Bucket(bucketFolders).Bucket([]byte(folder))
		if fb == nil {
			return nil
		}
		var name []byte
		var keys [][]byte
		var ends []time.Time
		judge := func() {
			for i, keep := range p.Keep(ends, now) {
				if !keep {
					doomed = append(doomed, keys[i])
				}
			}
			keys, ends = keys[:0], ends[:0]
		}
		c := fb.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n, until, _, ok := splitKey(k)
			if !ok {
				return fmt.Errorf("bad key %q", k)
			}
			if !bytes.Equal(n, name) {
				judge()
				name = slices.Clone(n)
			}
			keys = append(keys, slices.Clone(k))
			ends = append(ends, until)
		}
		judge()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune history of folder %s: %w", folder, err)
	}
	for len(doomed) > 0 {
		batch := doomed[:min(len(doomed), pruneBatch)]
		doomed = doomed[len(batch):]
		if err := db.drop(folder, batch); err != nil {
			return removed, fmt.Errorf("prune history of folder %s: %w", folder, err)
		}
		removed += len(batch)
	}
	return removed, nil
}

// drop deletes the versions under keys and the references they hold.
func (db *DB) drop(folder string, keys [][]byte) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		fb := tx.Bucket(bucketFolders).Bucket([]byte(folder))
		if fb == nil {
			return nil
		}
		refs := tx.Bucket(bucketRefs)
		for _, k := range keys {
			val := fb.Get(k)
			if val == nil {
				continue
			}
			v, err := decode(folder, k, val)
			if err != nil {
				return err
			}
			if err := addRefs(refs, v.File.Blocks, -1); err != nil {
				return err
			}
			if err := fb.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// DropFolder forgets every version of folder.
func (db *DB) DropFolder(folder string) error {
	for {
		var keys [][]byte
		err := db.bolt.View(func(tx *bolt.Tx) error {
			fb := tx.Bucket(bucketFolders).Bucket([]byte(folder))
			if fb == nil {
				return nil
			}
			c := fb.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < pruneBatch; k, _ = c.Next() {
				keys = append(keys, slices.Clone(k))
			}
			return nil
		})
		if err == nil && len(keys) > 0 {
			err = db.drop(folder, keys)
		}
		if err != nil {
			return fmt.Errorf("drop history of folder %s: %w", folder, err)
		}
		if len(keys) == 0 {
			return nil
		}
	}
}

// Referenced runs fn with a function that reports whether a kept version
// lists a block, all in one read transaction: what a garbage collection of
// the block store asks for every block it holds.
func (db *DB) Referenced(fn func(listed func(proto.Hash) bool) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		refs := tx.Bucket(bucketRefs)
		return fn(func(h proto.Hash) bool { return refs.Get(h[:]) != nil })
	})
}

// addRefs adds delta to the count of each distinct block of blocks,
// removing counts that reach zero.
func addRefs(refs *bolt.Bucket, blocks []proto.Block, delta int64) error {
	seen := make(map[proto.Hash]bool, len(blocks))
	for _, b := range blocks {
		if seen[b.Hash] {
			continue
		}
		seen[b.Hash] = true
		var n int64
		if v := refs.Get(b.Hash[:]); v != nil {
			c, k := binary.Uvarint(v)
			if k <= 0 {
				return fmt.Errorf("bad reference count for block %s", b.Hash)
			}
			n = int64(c)
		}
		n += delta
		var err error
		if n <= 0 {
			err = refs.Delete(b.Hash[:])
		} else {
			err = refs.Put(b.Hash[:], binary.AppendUvarint(nil, uint64(n)))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// versionKey orders a folder's versions by name, then by when they left.
func versionKey(name string, until time.Time, id uint64) []byte {
	k := make([]byte, 0, len(name)+17)
	k = append(k, name...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(until.UnixNano()))
	return binary.BigEndian.AppendUint64(k, id)
}

func splitKey(k []byte) (name []byte, until time.Time, id uint64, ok bool) {
	if len(k) < 17 || k[len(k)-17] != 0 {
		return nil, time.Time{}, 0, false
	}
	n := len(k) - 17
	until = time.Unix(0, int64(binary.BigEndian.Uint64(k[n+1:])))
	return k[:n], until, binary.BigEndian.Uint64(k[n+9:]), true
}

const valueVersion = 1

// encode writes what a version's key does not hold: since, kind, by and the
// record.
func encode(v *Version) ([]byte, error) {
	b := []byte{valueVersion, byte(v.Kind)}
	var since int64
	if !v.Since.IsZero() {
		since = v.Since.UnixNano()
	}
	b = binary.AppendVarint(b, since)
	b = binary.BigEndian.AppendUint64(b, uint64(v.By))
	return index.AppendRecord(b, &v.File)
}

func decode(folder string, k, val []byte) (Version, error) {
	name, until, id, ok := splitKey(k)
	if !ok || len(val) < 2 || val[0] != valueVersion {
		return Version{}, fmt.Errorf("bad version record under %q", k)
	}
	v := Version{ID: id, Folder: folder, Until: until, Kind: Kind(val[1])}
	since, n := binary.Varint(val[2:])
	if n <= 0 || len(val) < 2+n+8 {
		return Version{}, fmt.Errorf("bad version record of %q", name)
	}
	if since != 0 {
		v.Since = time.Unix(0, since)
	}
	v.By = proto.ShortID(binary.BigEndian.Uint64(val[2+n:]))
	f, err := index.DecodeRecord(string(name), val[2+n+8:])
	if err != nil {
		return Version{}, err
	}
	v.File = f
	return v, nil
}
