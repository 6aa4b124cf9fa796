package enginetest

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"ferry/engine"
	"ferry/proto"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "run TestSim with this seed only, with a trace on failure")
	seedsFlag = flag.Int("seeds", 300, "how many seeds TestSim runs")
	firstFlag = flag.Uint64("firstseed", 1, "the first seed TestSim runs")
	traceFlag = flag.String("simtrace", "", "with -seed: write the whole trace of the run to this file")
)

// chaosFaults are the fault profiles of chaos runs until they heal: brief
// outages, and long partitions with many crashes and failures.
var chaosFaults = []Faults{
	{Disconnect: 0.004, Reconnect: 0.02, Forget: 0.2, OpFail: 0.03, Crash: 0.0015, Restart: 0.01},
	{Disconnect: 0.02, Reconnect: 0.005, Forget: 0.2, OpFail: 0.08, Crash: 0.004, Restart: 0.01},
}

func TestSim(t *testing.T) {
	seeds := make([]uint64, 0, *seedsFlag)
	if *seedFlag != 0 {
		seeds = append(seeds, *seedFlag)
	} else {
		for i := range *seedsFlag {
			seeds = append(seeds, *firstFlag+uint64(i))
		}
	}
	var total chaosStats
	for _, seed := range seeds {
		st, err := runChaos(seed, *seedFlag != 0)
		if err != nil {
			t.Errorf("seed %d: %v\nreplay with: go test ./engine/enginetest -run 'TestSim$' -seed=%d", seed, err, seed)
			if *seedFlag == 0 {
				replay(t, seed, err)
			}
			continue
		}
		total.add(st)
	}
	t.Logf("%d seeds: %+v", len(seeds), total)
	if *seedFlag == 0 && (total.crashes == 0 || total.conflicts == 0 || total.disconnects == 0 || total.failedOps == 0 || total.deltas == 0) {
		t.Errorf("the chaos runs did not exercise every fault: %+v", total)
	}
}

// replay runs a failed seed again with a trace: it must fail the same way.
func replay(t *testing.T, seed uint64, first error) {
	t.Helper()
	_, err := runChaos(seed, true)
	if err == nil || !strings.Contains(err.Error(), firstLine(first.Error())) {
		t.Errorf("seed %d did not replay: first %v, then %v", seed, first, err)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func FuzzSim(f *testing.F) {
	for _, seed := range []uint64{1, 7, 42, 1 << 40} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		if _, err := runChaos(seed, false); err != nil {
			t.Fatalf("seed %d: %v\nreplay with: go test ./engine/enginetest -run 'TestSim$' -seed=%d", seed, err, seed)
		}
	})
}

// chaosStats counts what a chaos run went through.
type chaosStats struct {
	steps, actions, crashes, disconnects, failedOps, conflicts int
	deltas, deltaCloses                                        int // block-list deltas received, and refused
}

func (c *chaosStats) add(o chaosStats) {
	c.steps += o.steps
	c.actions += o.actions
	c.crashes += o.crashes
	c.disconnects += o.disconnects
	c.failedOps += o.failedOps
	c.conflicts += o.conflicts
	c.deltas += o.deltas
	c.deltaCloses += o.deltaCloses
}

// runChaos runs chaos for seed; with trace, a failure carries the end of
// the trace, and -simtrace gets all of it.
func runChaos(seed uint64, trace bool) (chaosStats, error) {
	r, err := chaos(seed, trace, nil)
	if r.s != nil && trace && *traceFlag != "" {
		_ = os.WriteFile(*traceFlag, []byte(r.s.Trace()), 0o644)
	}
	if err != nil && r.s != nil && trace {
		err = fmt.Errorf("%w\ntrace:\n%s", err, tail(r.s.Trace(), 400))
	}
	return r.st, err
}

// chaosRun is what a chaos run leaves: the simulation, the users with the
// ledger of what they wrote, and the counts.
type chaosRun struct {
	s  *Sim
	u  *users
	st chaosStats
}

// chaos lets users change the folders of three devices while the network
// and the devices fail, then heals everything and checks that the devices
// converge, stay stable, and lost no version that no user superseded (see
// ledger). setup, if set, adjusts the simulation before it starts.
func chaos(seed uint64, trace bool, setup func(*Sim)) (chaosRun, error) {
	l := newLedger()
	opt := chaosOptions(seed, trace)
	opt.OnCommit = l.committed
	s, err := New(opt)
	if err != nil {
		return chaosRun{}, err
	}
	l.s = s
	if setup != nil {
		setup(s)
	}
	u := &users{s: s, l: l}
	for range 60 {
		for range 1 + s.Rand().IntN(3) {
			u.act(s.Rand().IntN(3))
		}
		s.Run(s.Rand().IntN(250))
	}
	r := chaosRun{s: s, u: u, st: u.stats()}
	if err := healAndCheck(s, u); err != nil {
		return r, err
	}
	r.st.steps = s.Steps()
	for i := range 3 {
		r.st.conflicts += len(s.Dev(i).Conflicts())
		for _, ev := range s.Dev(i).Events() {
			if f, ok := ev.(engine.OpFailed); ok && errors.Is(f.Err, ErrInjected) {
				r.st.failedOps++
			}
		}
	}
	return r, nil
}

// chaosOptions draws the topology and the engines' limits from the seed.
func chaosOptions(seed uint64, trace bool) Options {
	cfgRand := rand.New(rand.NewPCG(seed, 1))
	var links [][2]int // full mesh
	if cfgRand.IntN(3) == 0 {
		links = [][2]int{{0, 1}, {1, 2}} // a chain
	}
	return Options{
		Devices: 3, Links: links, Seed: seed, Faults: chaosFaults[cfgRand.IntN(len(chaosFaults))], Trace: trace,
		Config: func(c *engine.Config) {
			c.MaxPulls = 1 + cfgRand.IntN(40)
			c.MaxHashes = 1 + cfgRand.IntN(4)
			c.BatchFiles = 1 + cfgRand.IntN(5)
			c.RetryAfter = time.Second
			if cfgRand.IntN(2) == 0 {
				c.ScanInterval = 20 * time.Second
			}
			c.History = cfgRand.IntN(2) == 0
			c.SweepBatch = 1 + cfgRand.IntN(8)
		},
	}
}

func TestSimReplaysExactly(t *testing.T) {
	for _, seed := range []uint64{3, 459, 1148} {
		a, errA := chaos(seed, true, nil)
		b, errB := chaos(seed, true, nil)
		if fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Errorf("seed %d: first run: %v, second: %v", seed, errA, errB)
		}
		ta, tb := strings.Split(a.s.Trace(), "\n"), strings.Split(b.s.Trace(), "\n")
		if len(ta) < 1000 {
			t.Errorf("seed %d: trace of %d lines, want a run that does something", seed, len(ta))
		}
		for i := range min(len(ta), len(tb)) {
			if ta[i] != tb[i] {
				t.Fatalf("seed %d: runs differ at line %d:\n%s\n%s", seed, i, ta[i], tb[i])
			}
		}
		if len(ta) != len(tb) {
			t.Errorf("seed %d: traces of %d and %d lines", seed, len(ta), len(tb))
		}
	}
}

// healAndCheck ends the faults, lets the devices settle and checks the
// outcome.
func healAndCheck(s *Sim, u *users) error {
	if err := s.Heal(); err != nil {
		return err
	}
	s.ScanAll()
	if err := s.RunUntilQuiet(maxSteps); err != nil {
		return fmt.Errorf("after healing: %w", err)
	}
	if err := s.Converged(); err != nil {
		return fmt.Errorf("after healing: %w", err)
	}
	if err := checkStable(s); err != nil {
		return err
	}
	return u.l.check()
}

// checkStable scans every device again: nothing may change.
func checkStable(s *Sim) error {
	var before []engine.State
	for i := range 3 {
		before = append(before, s.Dev(i).Store.State())
	}
	s.ScanAll()
	if err := s.RunUntilQuiet(maxSteps); err != nil {
		return fmt.Errorf("rescan: %w", err)
	}
	for i := range 3 {
		if got := s.Dev(i).Store.State().LastSequence; got != before[i].LastSequence {
			return fmt.Errorf("%s: rescan after converging made new versions: sequence %d -> %d",
				s.Dev(i).Name, before[i].LastSequence, got)
		}
	}
	return s.Converged()
}

// Name pools: files, directories and symlinks mostly keep to their own
// names, and now and then a file is written at a directory's name or a
// directory made at a file's, so that devices disagree on types too.
var (
	filePool = []string{"a.txt", "b.bin", "c", "d1/e.txt", "d1/f.bin", "d1/d2/g.txt", "d3/h.txt", "d3/d4/i"}
	dirPool  = []string{"d1", "d1/d2", "d3", "d3/d4", "d5"}
	linkPool = []string{"l1", "d1/l2"}
)

// users makes random changes on the devices' folders and keeps the ledger
// of the versions they wrote and superseded.
type users struct {
	s       *Sim
	l       *ledger
	n       int
	actions int
}

func (u *users) pick(names []string) string { return names[u.s.Rand().IntN(len(names))] }

// act makes one random change on device i and sometimes scans it.
func (u *users) act(i int) {
	u.actions++
	r := u.s.Rand()
	switch k := r.IntN(22); {
	case k < 7:
		u.write(i, u.pick(filePool))
	case k < 9:
		u.appendTo(i)
	case k < 11:
		u.remove(i, u.existing(i, proto.FileTypeFile))
	case k < 12:
		u.remove(i, u.existing(i, proto.FileTypeDir))
	case k < 14:
		u.renameFile(i)
	case k < 15:
		u.renameDir(i)
	case k < 16:
		_ = u.s.Mkdir(i, u.pick(dirPool))
	case k < 17:
		_ = u.s.Symlink(i, u.pick([]string{"a.txt", "../x", "d1"}), u.pick(linkPool))
	case k < 18:
		_ = u.s.Chmod(i, u.existing(i, proto.FileTypeFile), u.pickMode(0o644, 0o600, 0o755))
	case k < 20:
		_ = u.s.Chmod(i, u.existing(i, proto.FileTypeDir), u.pickMode(0o755, 0o700))
	case k < 21:
		u.write(i, u.pick(dirPool)) // a file where others have a directory
	default:
		_ = u.s.Mkdir(i, u.pick(filePool)) // and the other way round
	}
	if r.IntN(3) > 0 {
		u.s.Scan(i)
	}
}

func (u *users) pickMode(modes ...uint32) uint32 { return modes[u.s.Rand().IntN(len(modes))] }

// existing returns a random name of the given type on device i, "" if none.
func (u *users) existing(i int, t proto.FileType) string {
	var names []string
	for _, n := range u.s.Dev(i).FS.Names() {
		if st, _ := u.s.Dev(i).FS.Stat(n); st.Type == t {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return u.pick(names)
}

// newContent returns content of a random size (sometimes empty when empty
// is set, sometimes several blocks) that no other call returns.
func (u *users) newContent(i int, empty bool) []byte {
	u.n++
	tag := fmt.Sprintf("%s-%d", u.s.Dev(i).Name, u.n)
	size := u.s.Rand().IntN(3*BlockSize + 500)
	switch u.s.Rand().IntN(10) {
	case 0:
		size = 0
	case 1: // large enough for appends to it to be sent as block-list deltas
		size = 12*BlockSize + u.s.Rand().IntN(BlockSize)
	}
	if size > 0 || !empty {
		size = max(size, len(tag)+1) // long enough to hold its whole tag
	}
	return content(tag, size)
}

func (u *users) write(i int, name string) {
	data := u.newContent(i, true)
	if st, ok := u.s.Dev(i).FS.Stat(name); ok && st.Type != proto.FileTypeFile {
		return
	}
	seen := u.l.onDisk(i, name)
	if u.s.Write(i, name, data) == nil {
		u.l.superseded(seen, i, "overwritten")
		u.l.wrote(i, name, data)
	}
}

func (u *users) appendTo(i int) {
	name := u.existing(i, proto.FileTypeFile)
	if name == "" {
		return
	}
	seen := u.l.onDisk(i, name)
	extra := u.newContent(i, false)
	if u.s.Append(i, name, extra) == nil {
		u.l.superseded(seen, i, "appended to")
		data, _ := u.s.Dev(i).FS.ReadFile(name)
		u.l.wrote(i, name, data)
	}
}

func (u *users) remove(i int, name string) {
	if name == "" {
		return
	}
	seen := u.l.onDisk(i, name)
	if u.s.Remove(i, name) == nil {
		u.l.superseded(seen, i, "removed")
	}
}

func (u *users) renameFile(i int) {
	from, to := u.existing(i, proto.FileTypeFile), u.pick(filePool)
	if from != "" {
		_ = u.s.Rename(i, from, to)
	}
}

func (u *users) renameDir(i int) {
	from, to := u.existing(i, proto.FileTypeDir), u.pick(dirPool)
	if from != "" {
		_ = u.s.Rename(i, from, to)
	}
}

// stats counts the faults the run went through, from its trace-free
// counters.
func (u *users) stats() chaosStats {
	return chaosStats{actions: u.actions, crashes: u.s.crashes, disconnects: u.s.drops, deltas: u.s.deltas, deltaCloses: u.s.closes}
}
