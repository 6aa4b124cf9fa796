package enginetest

import (
	"fmt"

	"ferry/engine"
	"ferry/proto"
)

// FolderID is the ID of the folder every simulated device shares.
const FolderID = "sim"

// Device is one simulated device: its folder on disk, its committed index
// and, while it runs, its engine and the operations it was handed.
type Device struct {
	Name  string
	ID    proto.DeviceID
	FS    *MemFS
	Store *MemStore

	cfg    engine.Config
	eng    *engine.Engine // nil while crashed
	ops    []engine.Op
	events []engine.Event
	dirty  bool // the engine took an input since it was last verified
	// unsaved is the serial of the last Ready committed that the engine
	// has not been told of yet, 0 if none.
	unsaved uint64
}

// deviceID returns the ID of the i-th device: every byte i+1 times 0x11, so
// short IDs read 1111111, 2222222, ...
func deviceID(i int) proto.DeviceID {
	var id proto.DeviceID
	for j := range id {
		id[j] = byte(i+1) * 0x11
	}
	return id
}

// Engine returns the device's engine, nil while it is crashed. Whoever
// asks may step it, so it is verified again after the next step.
func (d *Device) Engine() *engine.Engine {
	d.dirty = true
	return d.eng
}

// step feeds in to the running engine.
func (d *Device) step(in engine.Input) {
	d.dirty = true
	d.eng.Step(in)
}

// Running reports whether the device is up.
func (d *Device) Running() bool { return d.eng != nil }

// Events returns every event the device's engine reported, oldest first.
func (d *Device) Events() []engine.Event { return d.events }

// Conflicts returns the conflict events the device reported.
func (d *Device) Conflicts() []engine.ConflictEvent {
	var out []engine.ConflictEvent
	for _, ev := range d.events {
		if c, ok := ev.(engine.ConflictEvent); ok {
			out = append(out, c)
		}
	}
	return out
}

// PendingOps returns how many operations the device was handed and has not
// carried out.
func (d *Device) PendingOps() int { return len(d.ops) }

// start builds the engine from the committed index.
func (d *Device) start(now int64) error {
	eng, err := engine.New(d.cfg, d.Store, d.Store.State())
	if err != nil {
		return fmt.Errorf("start %s: %w", d.Name, err)
	}
	d.eng = eng
	d.step(engine.Tick{Now: now})
	return nil
}

// crash stops the device: the engine with everything it had not handed out,
// the operations in flight and a transaction being committed are lost.
func (d *Device) crash(midCommit bool) {
	if midCommit && d.eng.HasReady() {
		d.Store.Stage(d.eng.Ready().Writes)
	}
	d.Store.Crash()
	d.eng, d.ops, d.unsaved = nil, nil, 0
}

// busy reports whether the device has work the simulation must still do.
func (d *Device) busy() bool {
	return d.eng != nil && (len(d.ops) > 0 || d.eng.HasReady() || d.unsaved > 0)
}
