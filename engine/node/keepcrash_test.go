package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"ferry/engine"
	"ferry/index/blocks"
	"ferry/index/chunker"
	"ferry/index/history"
	"ferry/platform"
	"ferry/proto"
)

// keepCrashEnv, set to a directory, makes the test binary a worker that
// keeps versions and prunes them there until it is killed.
const keepCrashEnv = "FERRY_KEEP_CRASH_WORKER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(keepCrashEnv); dir != "" {
		seed, _ := strconv.ParseUint(os.Getenv(keepCrashEnv+"_SEED"), 10, 64)
		run, _ := strconv.Atoi(os.Getenv(keepCrashEnv + "_RUN"))
		if err := keepWorker(dir, seed, run); err != nil {
			fmt.Fprintln(os.Stderr, "keep worker:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// keepPolicy keeps every version for ten minutes of the worker's clock,
// which moves a minute a version: its pruning drops versions, and the
// collection their blocks, all the time.
const keepPolicy = "10m:all"

// keepWorker keeps versions of files in dir/folder, as pulls replacing them
// would, and prunes the history now and then, until it is killed.
func keepWorker(dir string, seed uint64, run int) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	i := 0
	clock := func() time.Time { return time.Unix(0, 0).Add(time.Duration(run*100_000+i) * time.Minute) }
	fs, err := platform.OpenFolder(filepath.Join(dir, "folder"))
	if err != nil {
		return err
	}
	k, err := openKeeper(filepath.Join(dir, "home"), clock, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	policy, err := history.ParseKeep(keepPolicy)
	if err != nil {
		return err
	}
	params := chunker.Params{Min: 2 << 10, Avg: 8 << 10, Max: 32 << 10}
	for ; ; i++ {
		name := fmt.Sprintf("f%d.bin", rng.IntN(8))
		data := make([]byte, 16<<10+rng.IntN(96<<10))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(fs.Path(), name), data, 0o644); err != nil {
			return err
		}
		bl, err := chunker.Blocks(bytes.NewReader(data), params)
		if err != nil {
			return err
		}
		f := proto.FileInfo{Name: name, Size: int64(len(data)), Mode: 0o644, Version: proto.Vector{{ID: 1, Value: uint64(i + 1)}}, Blocks: bl}
		if err := k.keep("docs", fs, &engine.Keep{File: f, Kind: engine.KeepReplaced, By: 2}); err != nil {
			return err
		}
		if i%5 == 4 {
			if err := k.prune(context.Background(), map[string]history.Policy{"docs": policy}); err != nil {
				return err
			}
		}
	}
}

// Killed with SIGKILL at any moment of keeping, pruning or collecting,
// the history loses no block a kept version needs: after every kill, each
// version it lists reads back whole and checked, and the block store is
// consistent.
func TestKeepAndPruneSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := platform.InitFolder(filepath.Join(dir, "folder")); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	versions, blocksRead := 0, 0
	for kill := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), keepCrashEnv+"="+dir, keepCrashEnv+"_SEED="+strconv.FormatUint(seed+uint64(kill), 10),
			keepCrashEnv+"_RUN="+strconv.Itoa(kill))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(100+rng.IntN(500)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Fatalf("worker %d failed: %s", kill, stderr.String())
		}
		n, b := checkKept(t, filepath.Join(dir, "home"))
		versions, blocksRead = versions+n, blocksRead+b
	}
	t.Logf("20 kills; %d versions and %d blocks checked after them", versions, blocksRead)
	if versions == 0 {
		t.Fatal("no version was ever kept: the worker did nothing")
	}
}

// checkKept opens the history under home as a restarted daemon would and
// reads every block of every version it lists.
func checkKept(t *testing.T, home string) (versions, read int) {
	t.Helper()
	k, err := openKeeper(home, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("the history does not open after a kill: %v", err)
	}
	defer k.close()
	err = k.hist.Each("docs", func(v history.Version) error {
		versions++
		for _, b := range v.File.Blocks {
			if _, err := k.store.Get(b.Hash, nil); err != nil {
				return fmt.Errorf("%s version %d: %w", v.File.Name, v.ID, err)
			}
			read++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after a kill: %v", err)
	}
	rep, err := k.store.Verify(context.Background(), blocks.VerifyOptions{})
	if err != nil || rep.DamagedBlocks != 0 {
		t.Fatalf("after a kill the store verifies as %+v, %v", rep, err)
	}
	return versions, read
}
