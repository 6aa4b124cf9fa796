package engine

import (
	"errors"
	"fmt"
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

	rd     Ready
	tokens uint64 // the last token given to an Outgoing
	// expireAt is when a full scan next looks for tombstones to forget.
	expireAt int64
}

// peer is what the engine knows of one device it shares the folder with.
type peer struct {
	connected bool
	sentSeq   int64 // highest local sequence sent on this connection
	// catchUp says the peer is still being sent the records it missed,
	// in batches by sequence; window are the tokens of those on their way.
	catchUp, sentAny bool
	window           map[uint64]bool
	index            PeerIndex // how much of its index we hold
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
		peers:   make(map[proto.DeviceID]*peer),
	}
	e.files = newTable(store, func(dev proto.DeviceID) bool { return e.devices[dev] })
	e.setDevices(cfg.Devices)
	for dev, pi := range st.Peers {
		if p := e.peers[dev]; p != nil {
			p.index = pi
		}
	}
	e.sync = newSyncer(e)
	if err := e.load(cfg); err != nil {
		return nil, fmt.Errorf("folder %s: %w: %w", cfg.Folder, ErrLoad, err)
	}
	e.scans = newScanner(e)
	e.sync.recomputeAll()
	if e.files.err != nil {
		return nil, fmt.Errorf("folder %s: %w", cfg.Folder, e.files.err)
	}
	return e, nil
}

// load takes the stored summaries as what each name adds to the status,
// so that the first recompute writes only those that changed; the records
// stay in the index. An index without summaries for all its names gets
// them from the first sweep, in bounded batches (see sweep). Records of
// devices the folder is no longer shared with leave the index with the
// first Ready.
func (e *Engine) load(cfg Config) error {
	devs, err := e.store.RemoteDevices()
	if err != nil {
		return err
	}
	for _, dev := range devs {
		if !e.devices[dev] {
			e.rd.Writes.DropRemote = append(e.rd.Writes.DropRemote, dev)
			e.files.dropping[dev] = e.files.serial
		}
	}
	summarized, err := e.store.Summarized()
	if err != nil {
		return err
	}
	if cfg.Names != nil && cfg.Names.CaseInsensitive() {
		e.files.folds = newFoldIndex(cfg.Names.Fold)
	}
	if !summarized {
		// The first sweep gives every name its summary, the Range of an
		// index that is not summarized yet being the names with records.
		e.sync.upgrading = true
		if e.files.folds != nil {
			e.files.each("", func(name string, _ *entry) { e.files.folds.add(name) })
		}
	}
	return e.eachSummary(func(sum Summary) error {
		e.sync.totals.add(shareOfSummary(sum), 1)
		if e.files.folds != nil {
			e.files.folds.add(sum.Name)
		}
		return nil
	})
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
	case Saved:
		e.files.saved(in.Serial)
	case Sent:
		e.onSent(in)
	}
	e.sync.sweepSome(false)
	e.scans.schedule()
	e.sync.schedule()
	e.files.trim()
}

// Err returns why the engine stopped: the index could not be read. An
// engine that has failed must be dropped; its driver may start another.
func (e *Engine) Err() error { return e.files.err }

// HasReady reports whether Ready would return work.
func (e *Engine) HasReady() bool { return !e.rd.Empty() }

// Ready returns the work accumulated since the last Advance.
func (e *Engine) Ready() Ready {
	rd := e.rd
	rd.Serial = e.files.serial
	return rd
}

// Advance tells the engine the last Ready was taken: its writes will be
// committed in order, its messages sent, its operations started. Until a
// Saved input says its writes are committed, the engine holds in memory
// what they change.
func (e *Engine) Advance() {
	e.rd = Ready{}
	e.files.advance()
}

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
		if !p.connected || p.catchUp || f.Sequence <= p.sentSeq {
			continue
		}
		if len(p.window) >= catchUpWindow && !e.roomInLast(dev) {
			// The peer reads slower than changes are made: it catches up
			// from the index once it has read what is on its way.
			p.catchUp = true
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

// queueFile adds f to the last IndexUpdate for dev, or to a new one, which
// takes a place in the peer's window (see feed).
func (e *Engine) queueFile(dev proto.DeviceID, f proto.FileInfo) {
	if u := e.lastUpdate(dev); u != nil && len(u.Files) < e.cfg.BatchFiles {
		u.Files = append(u.Files, f)
		return
	}
	e.rd.Messages = append(e.rd.Messages, Outgoing{To: dev, Token: e.windowToken(dev), Msg: &proto.IndexUpdate{
		Folder: e.cfg.Folder, IndexID: e.indexID, Files: []proto.FileInfo{f},
	}})
}

// lastUpdate returns the IndexUpdate for dev that ends the Ready's messages
// to it, nil if the last is another message.
func (e *Engine) lastUpdate(dev proto.DeviceID) *proto.IndexUpdate {
	msgs := e.rd.Messages
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To == dev {
			u, _ := msgs[i].Msg.(*proto.IndexUpdate)
			return u
		}
	}
	return nil
}

// roomInLast reports whether the last IndexUpdate for dev takes another
// record.
func (e *Engine) roomInLast(dev proto.DeviceID) bool {
	u := e.lastUpdate(dev)
	return u != nil && len(u.Files) < e.cfg.BatchFiles
}

// windowToken gives a new message to dev a token and a place in its
// peer's window.
func (e *Engine) windowToken(dev proto.DeviceID) uint64 {
	p := e.peers[dev]
	e.tokens++
	if p.window == nil {
		p.window = make(map[uint64]bool)
	}
	p.window[e.tokens] = true
	return e.tokens
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
		if e.sync.totals.needFiles > 0 {
			at = max(at, e.sync.nextLook)
		}
		earlier(at)
	}
	return next
}
