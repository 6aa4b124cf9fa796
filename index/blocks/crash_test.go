package blocks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"ferry/proto"
)

// The crash test's worker is this test binary, started with these
// variables set.
const (
	crashWorkerEnv = "FERRY_BLOCKS_CRASH_WORKER" // the test directory
	crashSeedEnv   = "FERRY_BLOCKS_CRASH_SEED"
	crashRunEnv    = "FERRY_BLOCKS_CRASH_RUN"
)

// crashKills is how many times TestCrashKill9 kills a worker.
const crashKills = 24

// crashOpts makes packs fill and GC rewrite them often.
var crashOpts = Options{PackSize: 64 << 10}

// The worker's log is a sequence of records of crashRecordSize bytes: an
// op, a block id (0 and 1 for the start and end of a GC) and the block's
// hash, so that a worker need not make the data of every live block again.
const (
	opCommitted     = 'C' // Put of the block returned: it is stored and live
	opDead          = 'D' // the block is no longer live; written before the GC
	opGC            = 'G'
	opMoved         = 'M' // after a GC: how many blocks it moved
	crashRecordSize = 1 + 8 + proto.HashSize
)

// crashBlock returns the block with id: its data follows from the seed and
// the id, so the checker can tell good data without keeping it.
func crashBlock(seed, id uint64) Block {
	var key [32]byte
	binary.BigEndian.PutUint64(key[:], seed)
	binary.BigEndian.PutUint64(key[8:], id)
	rng := rand.NewChaCha8(key)
	data := make([]byte, 32+rng.Uint64()%(6<<10))
	rng.Read(data)
	return Block{Hash: blake3.Sum256(data), Data: data}
}

// crashState is what the log says: the live blocks, the dead ones, and
// counts for the test's report.
type crashState struct {
	live      map[uint64]proto.Hash
	liveList  []uint64
	dead      []uint64 // recently dead, to store again
	committed int
	gcs       int
	moved     uint64
	inGC      bool // the log ends inside a GC
}

func (st *crashState) apply(op byte, id uint64, h proto.Hash) {
	switch op {
	case opCommitted:
		st.committed++
		if _, ok := st.live[id]; !ok {
			st.live[id] = h
			st.liveList = append(st.liveList, id)
		}
	case opDead:
		delete(st.live, id)
		st.dead = append(st.dead, id)
		if len(st.dead) > 500 {
			st.dead = st.dead[1:]
		}
	case opMoved:
		st.moved += id
	case opGC:
		st.inGC = id == 0
		if id == 1 {
			st.gcs++
		}
	}
}

// compact drops the dead ids from liveList.
func (st *crashState) compact() {
	list := st.liveList[:0]
	for _, id := range st.liveList {
		if _, ok := st.live[id]; ok {
			list = append(list, id)
		}
	}
	st.liveList = list
}

// readCrashLog replays the log at path; a torn last record is ignored. It
// returns the length of the whole records.
func readCrashLog(path string) (*crashState, int64, error) {
	st := &crashState{live: make(map[uint64]proto.Hash)}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, 0, err
	}
	n := len(data) / crashRecordSize * crashRecordSize
	for i := 0; i < n; i += crashRecordSize {
		st.apply(data[i], binary.BigEndian.Uint64(data[i+1:]), proto.Hash(data[i+9:i+crashRecordSize]))
	}
	st.compact()
	return st, int64(n), nil
}

// crashLog appends records to the log, synced.
type crashLog struct {
	f   *os.File
	buf []byte
}

func (l *crashLog) append(op byte, ids []uint64, hashes []proto.Hash) error {
	l.buf = l.buf[:0]
	for i, id := range ids {
		l.buf = append(l.buf, op)
		l.buf = binary.BigEndian.AppendUint64(l.buf, id)
		var h proto.Hash
		if hashes != nil {
			h = hashes[i]
		}
		l.buf = append(l.buf, h[:]...)
	}
	if _, err := l.f.Write(l.buf); err != nil {
		return err
	}
	return l.f.Sync()
}

// crashWorker stores batches of blocks and runs GC in turn, logging what
// it was told, until it is killed. It returns only on an error.
func crashWorker(dir string) int {
	if err := runCrashWorker(dir); err != nil {
		fmt.Fprintln(os.Stderr, "crash worker:", err)
	}
	return 3
}

func runCrashWorker(dir string) error {
	seed, err := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	if err != nil {
		return err
	}
	run, err := strconv.ParseUint(os.Getenv(crashRunEnv), 10, 64)
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "log")
	st, n, err := readCrashLog(logPath)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(n); err != nil { // a torn record from the last kill
		return err
	}
	if _, err := f.Seek(n, io.SeekStart); err != nil {
		return err
	}
	log := &crashLog{f: f}
	s, err := Open(filepath.Join(dir, "store"), crashOpts)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	w := &crashRun{s: s, log: log, st: st, seed: seed, rng: rand.New(rand.NewPCG(seed, run)), next: run << 32}
	for i := w.rng.IntN(8); ; i++ {
		if err := w.put(); err != nil {
			return err
		}
		if i%8 == 7 {
			if err := w.gc(); err != nil {
				return err
			}
		}
	}
}

// crashRun is one worker's loop.
type crashRun struct {
	s    *Store
	log  *crashLog
	st   *crashState
	seed uint64
	rng  *rand.Rand
	next uint64 // id of the next new block
}

// put stores a batch of new blocks, live ones again, dead ones again and
// duplicates within the batch.
func (w *crashRun) put() error {
	var ids []uint64
	for range 1 + w.rng.IntN(24) {
		switch r := w.rng.IntN(10); {
		case r < 2 && len(w.st.liveList) > 0:
			ids = append(ids, w.st.liveList[w.rng.IntN(len(w.st.liveList))])
		case r < 3 && len(w.st.dead) > 0:
			ids = append(ids, w.st.dead[w.rng.IntN(len(w.st.dead))])
		case r < 4 && len(ids) > 0:
			ids = append(ids, ids[w.rng.IntN(len(ids))])
		default:
			ids = append(ids, w.next)
			w.next++
		}
	}
	bs := make([]Block, len(ids))
	hashes := make([]proto.Hash, len(ids))
	for i, id := range ids {
		bs[i] = crashBlock(w.seed, id)
		hashes[i] = bs[i].Hash
	}
	if err := w.s.Put(bs); err != nil {
		return err
	}
	if err := w.log.append(opCommitted, ids, hashes); err != nil {
		return err
	}
	for i, id := range ids {
		w.st.apply(opCommitted, id, hashes[i])
	}
	return nil
}

// gc declares one block in ten dead, logs it, and runs GC.
func (w *crashRun) gc() error {
	var dead []uint64
	for _, id := range w.st.liveList {
		if w.rng.IntN(10) == 0 {
			dead = append(dead, id)
		}
	}
	if err := w.log.append(opDead, dead, nil); err != nil {
		return err
	}
	for _, id := range dead {
		w.st.apply(opDead, id, proto.Hash{})
	}
	w.st.compact()
	live := make(map[proto.Hash]bool, len(w.st.live))
	for _, h := range w.st.live {
		live[h] = true
	}
	if err := w.log.append(opGC, []uint64{0}, nil); err != nil {
		return err
	}
	gst, err := w.s.GC(context.Background(), func(h proto.Hash) bool { return live[h] })
	if err != nil {
		return err
	}
	if err := w.log.append(opMoved, []uint64{uint64(gst.Moved)}, nil); err != nil {
		return err
	}
	return w.log.append(opGC, []uint64{1}, nil)
}

// TestCrashKill9 kills a worker that stores blocks and runs GC at random
// moments, and checks after each kill that every block the worker was told
// is stored, and has not declared dead since, is in the store and good.
// Each check works on a copy, so that the next worker finds the store as
// the kill left it and repairs it itself.
func TestCrashKill9(t *testing.T) {
	seed := rand.Uint64()
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (set %s to replay the same blocks and delays)", seed, crashSeedEnv)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	killedInGC := 0
	var st *crashState
	for run := 1; run <= crashKills; run++ {
		// Most kills land while the worker stores blocks and runs GC;
		// one in four may land earlier, while Open repairs the store.
		afterOpen := run%4 != 0
		delay := time.Duration(rng.IntN(300)) * time.Millisecond
		if !afterOpen {
			delay = time.Duration(rng.IntN(60)) * time.Millisecond
		}
		runCrashWorkerFor(t, dir, seed, run, afterOpen, delay)
		var err error
		if st, _, err = readCrashLog(filepath.Join(dir, "log")); err != nil {
			t.Fatal(err)
		}
		if st.inGC {
			killedInGC++
		}
		checkAfterCrash(t, dir, seed, st)
	}
	t.Logf("%d kills (%d during a GC), %d blocks committed, %d GCs completed moving %d blocks, %d blocks live",
		crashKills, killedInGC, st.committed, st.gcs, st.moved, len(st.live))
	if st.committed < 200 || st.gcs < 3 || st.moved == 0 {
		t.Fatalf("the workers did too little to test anything: %d blocks committed, %d GCs moving %d blocks", st.committed, st.gcs, st.moved)
	}
}

// runCrashWorkerFor starts a worker and kills it with SIGKILL after delay,
// counted from the start or, with afterOpen, from when its store is open.
func runCrashWorkerFor(t *testing.T, dir string, seed uint64, run int, afterOpen bool, delay time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		crashWorkerEnv+"="+dir,
		crashSeedEnv+"="+strconv.FormatUint(seed, 10),
		crashRunEnv+"="+strconv.Itoa(run))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		if _, err := bufio.NewReader(stdout).ReadString('\n'); err == nil {
			close(ready)
		}
		io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if afterOpen {
		select {
		case err := <-exited:
			t.Fatalf("worker %d ended before its store was open: %v\n%s", run, err, stderr.Bytes())
		case <-ready:
		}
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case err := <-exited:
		t.Fatalf("worker %d ended before it was killed: %v\n%s", run, err, stderr.Bytes())
	case <-timer.C:
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-exited
	if ps := cmd.ProcessState; ps.Exited() {
		t.Fatalf("worker %d exited with %d before the kill landed\n%s", run, ps.ExitCode(), stderr.Bytes())
	}
}

// checkAfterCrash opens a copy of the store as the kill left it and checks
// that it is consistent and holds every live block, good.
func checkAfterCrash(t *testing.T, dir string, seed uint64, st *crashState) {
	t.Helper()
	cp := t.TempDir()
	copyTree(t, filepath.Join(dir, "store"), cp)
	s, err := Open(cp, crashOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkConsistent(t, s)
	var buf []byte
	for _, id := range st.liveList {
		b := crashBlock(seed, id)
		if b.Hash != st.live[id] {
			t.Fatalf("log holds hash %s for block %d, which is %s", st.live[id], id, b.Hash)
		}
		data, err := s.Get(b.Hash, buf)
		if err != nil {
			t.Fatalf("live block %d (%s) after a kill: %v", id, b.Hash, err)
		}
		if !bytes.Equal(data, b.Data) {
			t.Fatalf("live block %d: wrong data", id)
		}
		buf = data
	}
	rep, err := s.Verify(t.Context(), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DamagedBlocks != 0 {
		t.Fatalf("verify after a kill: %d damaged blocks, first %v", rep.DamagedBlocks, rep.Damaged[0].Err)
	}
}

// copyTree copies the regular files under src, if it exists, to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
		return // killed before it made the store
	}
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
