package enginetest

import (
	"errors"
	"fmt"
	"time"

	"ferry/engine"
	"ferry/proto"
)

// ErrInjected is the error of an operation failed by the OpFail fault.
var ErrInjected = errors.New("injected failure")

type actionKind int

const (
	actDeliver actionKind = iota
	actOp
	actReady
	actSaved
)

// action is one thing that may happen next.
type action struct {
	kind actionKind
	dev  int
	l    *link
	dir  int
}

// actions lists everything pending, in a fixed order.
func (s *Sim) actions() []action {
	var out []action
	for _, l := range s.links {
		for dir := range 2 {
			if l.conn != nil && len(l.conn.q[dir]) > 0 {
				out = append(out, action{kind: actDeliver, l: l, dir: dir})
			}
		}
	}
	for i, d := range s.devs {
		if !d.Running() {
			continue
		}
		if len(d.ops) > 0 {
			out = append(out, action{kind: actOp, dev: i})
		}
		if d.eng.HasReady() {
			out = append(out, action{kind: actReady, dev: i})
		}
		if d.unsaved > 0 {
			out = append(out, action{kind: actSaved, dev: i})
		}
	}
	return out
}

// Step draws the faults, then does one pending action chosen at random, or
// advances the clock (always when nothing is pending, now and then
// otherwise). It reports whether anything was pending.
func (s *Sim) Step() bool {
	s.steps++
	s.faults()
	acts := s.actions()
	if len(acts) == 0 || s.rand.IntN(16) == 0 {
		s.tick()
		s.verify()
		return len(acts) > 0
	}
	a := acts[s.rand.IntN(len(acts))]
	switch a.kind {
	case actDeliver:
		s.deliver(a.l, a.dir)
	case actOp:
		s.runOp(a.dev)
	case actReady:
		s.handleReady(a.dev)
	case actSaved:
		d := s.devs[a.dev]
		d.step(engine.Saved{Serial: d.unsaved})
		d.unsaved = 0
	}
	for _, l := range s.links {
		if l.closing {
			l.closing = false
			s.disconnect(l)
			s.connect(l)
		}
	}
	s.verify()
	return true
}

// verify checks the internal consistency of every running engine that took
// an input since it was last verified (an engine changes only by its inputs)
// and keeps the first failure, with the step it happened at, for Converged.
func (s *Sim) verify() {
	if s.broken != nil || s.opt.VerifyEvery > 1 && s.steps%s.opt.VerifyEvery != 0 {
		return
	}
	for _, d := range s.devs {
		if d.Running() && d.dirty {
			d.dirty = false
			if err := d.eng.Verify(); err != nil {
				s.broken = fmt.Errorf("step %d: %s: %w", s.steps, d.Name, err)
				return
			}
		}
	}
}

// Run takes n steps.
func (s *Sim) Run(n int) {
	for range n {
		s.Step()
	}
}

// RunUntilQuiet steps until nothing has been pending for longer than every
// engine's retry and settle delays, or fails after maxSteps steps.
func (s *Sim) RunUntilQuiet(maxSteps int) error {
	quiet := s.quietPeriod()
	idleSince := s.now
	for range maxSteps {
		s.Step()
		if len(s.actions()) > 0 {
			idleSince = s.now
		} else if s.now-idleSince > quiet {
			return nil
		}
	}
	return fmt.Errorf("not quiet after %d steps: %d actions pending", maxSteps, len(s.actions()))
}

// quietPeriod is how long nothing may happen before the simulation counts
// as quiet: longer than any engine waits before retrying.
func (s *Sim) quietPeriod() int64 {
	var retry time.Duration
	for _, d := range s.devs {
		cfg := d.cfg
		_ = cfg.Validate() // fills the default the engine uses
		retry = max(retry, cfg.RetryAfter)
	}
	return 2*int64(retry) + int64(time.Second)
}

// tick moves the clock. An engine that has nothing to hand out after the
// tick only moved its timers, so it is left for the next verification.
func (s *Sim) tick() {
	s.now += TickStep
	for _, d := range s.devs {
		if d.Running() {
			d.eng.Step(engine.Tick{Now: s.now})
			d.dirty = d.dirty || d.eng.HasReady()
		}
	}
}

// handleReady is the driver's loop body: commit the writes, send the
// messages, start the operations, then Advance.
func (s *Sim) handleReady(i int) {
	d := s.devs[i]
	rd := d.eng.Ready()
	d.Store.Apply(rd.Writes)
	if s.opt.OnCommit != nil {
		for _, f := range rd.Writes.Local {
			s.opt.OnCommit(i, f)
		}
	}
	if s.tracing {
		for _, f := range rd.Writes.Local {
			s.logf("%s commit local %v", d.Name, f)
		}
	}
	for _, m := range rd.Messages {
		s.send(i, m)
	}
	d.ops = append(d.ops, rd.Ops...)
	for _, op := range rd.Ops {
		s.logf("%s start %s", d.Name, opString(op))
	}
	for _, ev := range rd.Events {
		s.logf("%s event %T %+v", d.Name, ev, ev)
	}
	d.events = append(d.events, rd.Events...)
	d.eng.Advance() // drops the Ready, nothing that Verify checks
	// The engine hears that the writes are committed later, as a driver
	// that commits off its loop tells it: until then it holds them.
	d.unsaved = rd.Serial
}

// runOp carries out one of device i's operations, chosen at random, and
// feeds its result back.
func (s *Sim) runOp(i int) {
	d := s.devs[i]
	k := s.rand.IntN(len(d.ops))
	op := d.ops[k]
	d.ops = append(d.ops[:k], d.ops[k+1:]...)
	var in engine.Input
	if s.chance(s.opt.Faults.OpFail) {
		in = Fail(op, ErrInjected)
	} else {
		before, had := d.FS.Stat(opFile(op).Name)
		in = d.FS.Exec(op, s.fetcher(i))
		s.checkKept(d, op, in, before, had)
	}
	s.logOp(d, op, in)
	d.step(in)
}

// checkKept fails the simulation when, with history on, an operation
// replaced or removed a regular file without asking that it be kept first:
// a real device would then have lost that version.
func (s *Sim) checkKept(d *Device, op engine.Op, in engine.Input, before engine.Stat, had bool) {
	r, ok := in.(engine.OpResult)
	if !d.cfg.History || !ok || r.Err != nil || !had || before.Type != proto.FileTypeFile || s.broken != nil {
		return
	}
	after, still := d.FS.Stat(r.Name)
	if still && after.Type == proto.FileTypeFile && after.Inode == before.Inode && after.ModTime == before.ModTime {
		return // the file is as it was: nothing replaced
	}
	if keepOf(op) == nil {
		s.broken = fmt.Errorf("step %d: %s: %T replaced %s without keeping it in the history", s.steps, d.Name, op, r.Name)
	}
}

// keepOf returns what op asks to keep, nil for none.
func keepOf(op engine.Op) *engine.Keep {
	switch op := op.(type) {
	case engine.PullOp:
		return op.Keep
	case engine.DeleteOp:
		return op.Keep
	case engine.MkdirOp:
		return op.Keep
	case engine.SymlinkOp:
		return op.Keep
	}
	return nil
}

func (s *Sim) logOp(d *Device, op engine.Op, in engine.Input) {
	if !s.tracing {
		return
	}
	switch op := op.(type) {
	case engine.ScanOp:
		r := in.(engine.ScanResult)
		s.logf("%s scan %q -> %d entries, err %v", d.Name, op.Subtree, len(r.Entries), r.Err)
	case engine.HashOp:
		r := in.(engine.HashResult)
		s.logf("%s hash %s -> %d blocks, err %v", d.Name, op.Stat.Name, len(r.Blocks), r.Err)
	case engine.CleanTempsOp:
		r := in.(engine.TempsCleaned)
		s.logf("%s clean temps -> %d removed, err %v", d.Name, r.Removed, r.Err)
	default:
		r := in.(engine.OpResult)
		s.logf("%s op %T %v -> stat %+v conflict %v err %v", d.Name, op, opFile(op), r.Stat, r.Conflict != nil, r.Err)
	}
}

// faults draws this step's faults.
func (s *Sim) faults() {
	f := s.opt.Faults
	if s.chance(f.Disconnect) {
		if l := s.pickLink(func(l *link) bool { return l.conn != nil }); l != nil {
			s.disconnect(l)
			s.drops++
		}
	}
	if s.chance(f.Reconnect) {
		if l := s.pickLink(func(l *link) bool { return l.conn == nil }); l != nil {
			s.connect(l)
		}
	}
	if s.chance(f.Crash) {
		if i := s.pickDev(true); i >= 0 {
			s.Crash(i)
			s.crashes++
		}
	}
	if s.chance(f.Restart) {
		if i := s.pickDev(false); i >= 0 {
			s.mustRestart(i)
		}
	}
}

func (s *Sim) pickLink(ok func(*link) bool) *link {
	var c []*link
	for _, l := range s.links {
		if ok(l) {
			c = append(c, l)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[s.rand.IntN(len(c))]
}

func (s *Sim) pickDev(running bool) int {
	var c []int
	for i, d := range s.devs {
		if d.Running() == running {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		return -1
	}
	return c[s.rand.IntN(len(c))]
}

// opString names an operation and its target for the trace.
func opString(op engine.Op) string {
	switch op := op.(type) {
	case engine.ScanOp:
		return fmt.Sprintf("scan %q", op.Subtree)
	case engine.HashOp:
		return "hash " + op.Stat.Name
	}
	f := opFile(op)
	return fmt.Sprintf("%T %s %v", op, f.Name, f.Version)
}
