package enginetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"ferry/engine"
	"ferry/proto"
)

// Epoch is where the simulated clock starts: 2026-01-01 00:00:00 UTC.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// TickStep is how far the simulated clock moves with each tick.
const TickStep = int64(100 * time.Millisecond)

// Options configure a simulation.
type Options struct {
	Devices int      // how many devices, named A, B, C, ...
	Links   [][2]int // pairs of devices that can connect; nil means all pairs
	Seed    uint64
	Faults  Faults
	// Config, if set, adjusts each device's engine configuration; then
	// DeviceConfig, if set, adjusts device dev's.
	Config       func(*engine.Config)
	DeviceConfig func(dev int, c *engine.Config)
	// Trace keeps a log of every simulated event (see Sim.Trace).
	Trace bool
	// OnCommit, if set, is called with every local record device dev
	// commits to its index, in commit order.
	OnCommit func(dev int, f proto.FileInfo)
	// VerifyEvery, if above 1, recounts the engines' status only every
	// so many steps, and once converged: a recount reads every name, which
	// a large folder cannot afford at every step.
	VerifyEvery int
	// WalkBatch, if set, is how many entries a walk reports before it
	// stops and the engine asks for the rest; default 5.
	WalkBatch int
}

// Faults are the chances of things going wrong. The per-step chances are
// drawn once for every step of the simulation.
type Faults struct {
	Disconnect float64 // per step: a random connection drops
	Reconnect  float64 // per step: a random dropped connection comes back
	Forget     float64 // per connect: a side claims to have seen nothing of the other
	OpFail     float64 // per operation: it fails before doing anything
	Crash      float64 // per step: a random running device crashes
	Restart    float64 // per step: a random crashed device restarts
}

// Sim is a deterministic simulation of devices sharing one folder.
type Sim struct {
	opt   Options
	rand  *rand.Rand
	now   int64
	devs  []*Device
	links []*link

	steps      int
	blockBytes int64
	crashes    int // crashes by the Crash fault
	drops      int // connections dropped by the Disconnect fault
	deltas     int // records received as block-list deltas
	closes     int // connections closed at a device's request
	tracing    bool
	trace      []string
	broken     error // the first engine found inconsistent after a step
}

// New builds a simulation with every device running and every link
// connected.
func New(opt Options) (*Sim, error) {
	if opt.Devices < 1 || opt.Devices > 26 {
		return nil, fmt.Errorf("new sim: %d devices, want 1 to 26", opt.Devices)
	}
	s := &Sim{opt: opt, rand: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), now: Epoch, tracing: opt.Trace}
	for i := range opt.Devices {
		if err := s.addDevice(i); err != nil {
			return nil, err
		}
	}
	if err := s.addLinks(opt.Links); err != nil {
		return nil, err
	}
	for _, l := range s.links {
		s.connect(l)
	}
	return s, nil
}

func (s *Sim) addDevice(i int) error {
	d := &Device{
		Name:  string(rune('A' + i)),
		ID:    deviceID(i),
		FS:    NewMemFS(),
		Store: NewMemStore(s.rand.Uint64() | 1),
	}
	d.FS.walkBatch = s.opt.WalkBatch
	// Small sweeps, so that a recompute of every name goes on across
	// many steps while commits lag.
	d.cfg = engine.Config{Folder: FolderID, Local: d.ID, SweepBatch: 2}
	for j := range s.opt.Devices {
		if j != i {
			d.cfg.Devices = append(d.cfg.Devices, deviceID(j))
		}
	}
	if s.opt.Config != nil {
		s.opt.Config(&d.cfg)
	}
	if s.opt.DeviceConfig != nil {
		s.opt.DeviceConfig(i, &d.cfg)
	}
	s.devs = append(s.devs, d)
	return d.start(s.now)
}

func (s *Sim) addLinks(pairs [][2]int) error {
	if pairs == nil {
		for i := range s.devs {
			for j := i + 1; j < len(s.devs); j++ {
				pairs = append(pairs, [2]int{i, j})
			}
		}
	}
	for _, p := range pairs {
		a, b := min(p[0], p[1]), max(p[0], p[1])
		if a < 0 || b >= len(s.devs) || a == b || s.linkOf(a, b) != nil {
			return fmt.Errorf("new sim: bad link %v", p)
		}
		s.links = append(s.links, &link{a: a, b: b, enabled: true})
	}
	return nil
}

// Dev returns device i.
func (s *Sim) Dev(i int) *Device { return s.devs[i] }

// Now returns the simulated clock in Unix nanoseconds.
func (s *Sim) Now() int64 { return s.now }

// Steps returns how many steps the simulation has taken.
func (s *Sim) Steps() int { return s.steps }

// BlockBytes returns how many bytes of block data crossed the network.
func (s *Sim) BlockBytes() int64 { return s.blockBytes }

// SetFaults replaces the fault chances.
func (s *Sim) SetFaults(f Faults) { s.opt.Faults = f }

// Rand returns the simulation's random source, for scenarios that want
// their choices to replay with the seed.
func (s *Sim) Rand() *rand.Rand { return s.rand }

func (s *Sim) chance(p float64) bool { return p > 0 && s.rand.Float64() < p }

// logf records an event in the trace, if tracing.
func (s *Sim) logf(format string, args ...any) {
	if s.tracing {
		s.trace = append(s.trace, fmt.Sprintf("%6d %s ", s.steps, time.Duration(s.now-Epoch))+fmt.Sprintf(format, args...))
	}
}

// Trace returns the log of simulated events (empty unless Options.Trace).
func (s *Sim) Trace() string { return strings.Join(s.trace, "\n") }

// Converged reports why the devices do not agree, nil if they do: every
// device runs, nothing is in flight, every folder holds the same names,
// types, content, permission bits, file modification times and symlink
// targets, and every engine is consistent and says it is in sync.
func (s *Sim) Converged() error {
	var errs []error
	if s.broken != nil {
		errs = append(errs, s.broken)
	}
	for _, d := range s.devs {
		if !d.Running() {
			errs = append(errs, fmt.Errorf("%s is not running", d.Name))
			continue
		}
		if err := d.eng.Verify(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Name, err))
		}
		if err := d.eng.VerifySummaries(); !d.eng.HasReady() && d.unsaved == 0 && err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Name, err))
		}
		if d.busy() {
			errs = append(errs, fmt.Errorf("%s has work pending", d.Name))
		}
		if st := d.eng.Status(); !st.InSync {
			errs = append(errs, fmt.Errorf("%s not in sync: %+v", d.Name, st))
		}
		if diff := s.devs[0].FS.Diff(d.FS); diff != "" {
			errs = append(errs, fmt.Errorf("%s differs from %s: %s", d.Name, s.devs[0].Name, diff))
		}
	}
	for _, l := range s.links {
		if l.conn != nil && (len(l.conn.q[0]) > 0 || len(l.conn.q[1]) > 0) {
			errs = append(errs, fmt.Errorf("messages in flight on %s", l))
		}
	}
	return errors.Join(errs...)
}
