package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"ferry/proto"
)

// ErrLoad says the records in the Store could not be read.
var ErrLoad = errors.New("load index")

// Engine is one folder's decision maker. It is not safe for concurrent use:
// one driver goroutine owns it.
type Engine struct {
	cfg     Config
	store   Store
	devices map[proto.DeviceID]bool
	now     int64

	indexID uint64
	seq     int64
	files   *table
	peers   map[proto.DeviceID]*peer
	sync    *syncer
	scans   *scanner

	rd Ready
}

// peer is what the engine knows of one device it shares the folder with.
type peer struct {
	connected bool
	sentSeq   int64     // highest local sequence sent on this connection
	index     PeerIndex // how much of its index we hold
	// files counts its records, as of its connection and those it sent
	// since; a record forgotten meanwhile is still counted.
	files int
}

// New starts an engine from the committed state in store.
func New(cfg Config, store Store, st State) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:     cfg,
		store:   store,
		indexID: st.IndexID,
		seq:     st.LastSequence,
		files:   newTable(),
		peers:   make(map[proto.DeviceID]*peer),
	}
	if cfg.Names != nil && cfg.Names.CaseInsensitive() {
		e.files.folds = newFoldIndex(cfg.Names.Fold)
	}
	e.setDevices(cfg.Devices)
	for dev, pi := range st.Peers {
		if p := e.peers[dev]; p != nil {
			p.index = pi
		}
	}
	stale := make(map[proto.DeviceID]bool)
	err := store.Each(func(dev proto.DeviceID, f proto.FileInfo) error {
		switch {
		case dev.IsZero():
			e.files.setLocal(f)
		case e.devices[dev]:
			e.files.setRemote(dev, f)
		default:
			stale[dev] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w: %w", cfg.Folder, ErrLoad, err)
	}
	e.sync = newSyncer(e)
	summarized, err := e.loadSummaries()
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w: %w", cfg.Folder, ErrLoad, err)
	}
	e.rd.Writes.Summarized = !summarized
	// Records of devices the folder is no longer shared with leave the
	// index with the first Ready.
	e.rd.Writes.DropRemote = slices.SortedFunc(maps.Keys(stale), compareDevices)
	e.scans = newScanner(e)
	e.sync.recomputeAll()
	return e, nil
}

// loadSummaries takes the stored summaries as what each name adds to the
// status, so that the first recompute writes only those that changed, and
// reports whether the index had them all. A summary of a name without
// records goes.
func (e *Engine) loadSummaries() (bool, error) {
	ok, err := e.store.Summarized()
	if err != nil || !ok {
		return false, err
	}
	err = e.eachSummary(func(sum Summary) error {
		en := e.files.entries[sum.Name]
		if en == nil {
			e.rd.Writes.Summaries = append(e.rd.Writes.Summaries, Summary{Name: sum.Name, Gone: true})
			return nil
		}
		en.share, en.summarized = shareOfSummary(sum), true
		e.sync.totals.add(en.share, 1)
		return nil
	})
	return err == nil, err
}

// eachSummary calls fn with every stored summary, in name order, reading
// them in pages.
func (e *Engine) eachSummary(fn func(Summary) error) error {
	const page = 4096
	for after := ""; ; {
		sums, err := e.store.Summaries("", after, page)
		if err != nil {
			return err
		}
		for _, sum := range sums {
			if err := fn(sum); err != nil {
				return err
			}
		}
		if len(sums) < page {
			return nil
		}
		after = sums[len(sums)-1].Name
	}
}

// setDevices makes devs the devices the folder is shared with and returns
// those it no longer is, sorted.
func (e *Engine) setDevices(devs []proto.DeviceID) []proto.DeviceID {
	e.devices = make(map[proto.DeviceID]bool, len(devs))
	for _, d := range devs {
		e.devices[d] = true
		if e.peers[d] == nil {
			e.peers[d] = &peer{}
		}
	}
	var gone []proto.DeviceID
	for d := range e.peers {
		if !e.devices[d] {
			delete(e.peers, d)
			gone = append(gone, d)
		}
	}
	slices.SortFunc(gone, compareDevices)
	return gone
}

// Step feeds one input to the engine.
func (e *Engine) Step(in Input) {
	switch in := in.(type) {
	case Tick:
		e.onTick(in)
	case PeerUp:
		e.onPeerUp(in)
	case PeerDown:
		e.onPeerDown(in)
	case Received:
		e.onReceived(in)
	case ScanRequest:
		e.scans.request(in)
	case ScanResult:
		e.scans.onScanResult(in)
	case HashResult:
		e.scans.onHashResult(in)
	case OpResult:
		e.sync.onResult(in)
	case ConfigChange:
		e.onConfigChange(in)
	case ConfirmDeletes:
		e.confirmDeletes()
	case RevertDeletes:
		e.revertDeletes()
	case Acknowledge:
		e.scans.massChange = 0
	case TempsCleaned:
		e.sync.onTempsCleaned(in)
	case Override:
		e.override()
	}
	e.scans.schedule()
	e.sync.schedule()
}

// HasReady reports whether Ready would return work.
func (e *Engine) HasReady() bool { return !e.rd.Empty() }

// Ready returns the work accumulated since the last Advance.
func (e *Engine) Ready() Ready { return e.rd }

// Advance tells the engine the last Ready was handled: writes committed,
// messages sent, operations started.
func (e *Engine) Advance() { e.rd = Ready{} }

// Hello returns this folder's part of the Hello for dev, or false when the
// folder is not shared with dev.
func (e *Engine) Hello(dev proto.DeviceID) (proto.FolderHello, bool) {
	p := e.peers[dev]
	if p == nil {
		return proto.FolderHello{}, false
	}
	return proto.FolderHello{
		ID:           e.cfg.Folder,
		IndexID:      e.indexID,
		MaxSequence:  e.seq,
		SeenIndexID:  p.index.IndexID,
		SeenSequence: p.index.Sequence,
	}, true
}

func (e *Engine) onTick(t Tick) {
	e.now = t.Now
	e.scans.tick()
	e.sync.tick()
}

func (e *Engine) onConfigChange(c ConfigChange) {
	cfg := c.Config
	if err := cfg.Validate(); err != nil {
		return
	}
	cfg.Names = e.cfg.Names // the file system's, known at the start
	if cfg.ScanInterval != e.cfg.ScanInterval {
		e.scans.nextAt = 0 // the next tick schedules by the new interval
	}
	e.cfg = cfg
	for _, dev := range e.setDevices(cfg.Devices) {
		// A device the folder is no longer shared with: its records
		// leave memory and the index, so a later share starts afresh.
		e.rd.Writes.DropRemote = append(e.rd.Writes.DropRemote, dev)
		e.files.dropRemote(dev)
		delete(e.rd.Writes.Peers, dev)
	}
	e.sync.recomputeAll()
}

// nowSeconds is the clock reading used for version counters.
func (e *Engine) nowSeconds() uint64 {
	if e.now <= 0 {
		return 0
	}
	return uint64(e.now / 1e9)
}

// global returns en's global record and the devices that hold it. In a
// receive-only folder this device's own records take no part: the global
// state is what the other devices made, and what was changed here is a
// local change (see syncer.recompute) that never wins over it.
func (e *Engine) global(en *entry) (*proto.FileInfo, []proto.DeviceID) {
	if e.cfg.Type == ReceiveOnly {
		return en.othersGlobal(e.devices)
	}
	return en.global(e.devices)
}

// commitLocal records a new local version: next sequence number, index
// write, announcement to connected peers, need recalculation.
func (e *Engine) commitLocal(f proto.FileInfo) {
	old := e.files.local(f.Name)
	e.seq++
	f.Sequence = e.seq
	e.files.setLocal(f)
	e.rd.Writes.Local = append(e.rd.Writes.Local, f)
	if e.cfg.Type != ReceiveOnly {
		e.announce(f, old)
	}
	e.sync.recompute(f.Name)
}

// announce queues f for every connected peer, appending to the last
// IndexUpdate for that peer when it has room. A peer that was sent old, the
// version f replaces, gets f's block list as a delta against old's.
func (e *Engine) announce(f proto.FileInfo, old *proto.FileInfo) {
	var delta *proto.FileInfo // made for the first peer that holds old
	for dev, p := range e.peers {
		if !p.connected || f.Sequence <= p.sentSeq {
			continue
		}
		out := f
		if old != nil && old.Sequence > 0 && old.Sequence <= p.sentSeq {
			if delta == nil {
				delta = &f
				if d, ok := proto.MakeDelta(old, &f); ok {
					delta = &d
				}
			}
			out = *delta
		}
		p.sentSeq = f.Sequence
		e.queueFile(dev, out)
	}
}

func (e *Engine) queueFile(dev proto.DeviceID, f proto.FileInfo) {
	msgs := e.rd.Messages
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To != dev {
			continue
		}
		if u, ok := msgs[i].Msg.(*proto.IndexUpdate); ok && len(u.Files) < e.cfg.BatchFiles {
			u.Files = append(u.Files, f)
			return
		}
		break
	}
	e.rd.Messages = append(e.rd.Messages, Outgoing{To: dev, Msg: &proto.IndexUpdate{
		Folder: e.cfg.Folder, IndexID: e.indexID, Files: []proto.FileInfo{f},
	}})
}

// NextWake returns when the engine next has something to do on its own: a
// periodic scan, a settled file to rescan, a delayed deletion or a failed
// operation to retry. 0 means no timer is pending. A driver may sleep
// until then, as long as it steps every input it gets with a fresh Tick
// first.
func (e *Engine) NextWake() int64 {
	var next int64
	earlier := func(t int64) {
		if t > 0 && (next == 0 || t < next) {
			next = t
		}
	}
	earlier(e.scans.nextAt)
	for _, due := range e.scans.settle {
		earlier(due)
	}
	for _, due := range e.sync.delayed {
		earlier(due)
	}
	for _, f := range e.sync.failed {
		earlier(f.until)
	}
	if e.sync.full != "" {
		earlier(e.sync.fullUntil)
	}
	if e.sync.temps == tempsMaybe && len(e.sync.inflight) == 0 {
		at := e.sync.nextClean
		if len(e.sync.need) > 0 {
			at = max(at, e.sync.nextLook)
		}
		earlier(at)
	}
	return next
}
