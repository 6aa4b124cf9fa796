package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"ferry/discovery"
	"ferry/discovery/lan"
	"ferry/engine"
	"ferry/engine/config"
	"ferry/index"
	"ferry/platform"
	"ferry/proto"
	"ferry/proto/noise"
	"ferry/web"
)

// Version is the client version sent in Hello.
const Version = "0.1.0"

// Options configure a Node. Listen and GUI, when set, override the config.
type Options struct {
	Home   string
	Listen []string
	GUI    string
	Logger *slog.Logger
	Now    func() time.Time // injected clock; time.Now if nil
	// Ready, if set, is called once the node listens, with the GUI address.
	Ready func(gui string)
	// NoLAN turns off announcing this device on the local network and
	// listening for others. LANPort is the UDP port used (0: the default).
	NoLAN   bool
	LANPort int
	// DHT turns on finding trusted devices over the internet through the
	// Mainline DHT, on UDP port DHTPort (0: the sync port's number).
	// DHTBootstrap, when not nil, replaces the configured bootstrap nodes.
	DHT          bool
	DHTPort      int
	DHTBootstrap []string
	// Portmap turns on asking the router to forward the sync port.
	Portmap bool
	// MaxSend and MaxRecv, when not nil, replace the config's limits on
	// what all devices together send and receive, in bytes per second
	// (0: none), while the node runs; config changes leave them be.
	MaxSend, MaxRecv *int64
}

// Node is a running ferry daemon.
type Node struct {
	opts     Options
	log      *slog.Logger
	key      noise.Keypair
	id       proto.DeviceID
	db       *index.DB
	released time.Time // when the index pages were last released
	// keeper keeps the old versions of files, under home/history;
	// pastPages the answers to devices asking what a folder was.
	keeper    *keeper
	pastPages pastPages
	conns     *connManager
	// resolver has the configured addresses; lan, when on, what was heard
	// on the local network.
	resolver *discovery.Static
	lan      *lan.LAN
	offers   pairing
	// reach finds devices beyond the LAN; relays forwards connections.
	reach  reach
	relays relays
	// trim gives memory back when the daemon is idle (sampleRates).
	trim idleTrim

	// offered are the folders trusted devices share that this one does
	// not take yet.
	offered offeredFolders
	// reconfig runs config changes one at a time; closing, under it,
	// refuses them once the node shuts down.
	reconfig sync.Mutex
	closing  bool

	mu      sync.RWMutex
	cfg     config.Config
	folders map[string]*folderHandle
	runCtx  context.Context
	wg      sync.WaitGroup
	// listening are the addresses the device listener is bound to.
	listening []net.Addr
}

// folderHandle is a running folder: its runner and what it is shared with.
type folderHandle struct {
	cfg    config.Folder
	fs     *platform.Folder
	runner *folderRunner
	shared map[proto.DeviceID]bool
	cancel context.CancelFunc
	done   chan struct{}
	// err says why the folder is not running, when it is not; n.mu
	// guards it.
	err error
	// retry wakes the supervisor to reopen the folder at once.
	retry chan struct{}
	// names are the name rules of the folder's file system, found when it
	// was opened.
	names platform.NameRules
}

// Run starts the daemon and serves until ctx ends, then shuts down cleanly.
func Run(ctx context.Context, opts Options) error {
	n, cleanup, err := open(opts)
	if err != nil {
		return err
	}
	defer cleanup()
	return n.serve(ctx)
}

func open(opts Options) (*Node, func(), error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	unlock, err := platform.LockHome(opts.Home)
	if err != nil {
		return nil, nil, err
	}
	priv, pub, err := platform.LoadOrCreateKey(opts.Home)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	cfg, err := config.Load(opts.Home)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	db, err := openIndex(opts, cfg)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	k, err := openKeeper(opts.Home, opts.Now, opts.Logger)
	if err != nil {
		db.Close()
		unlock()
		return nil, nil, err
	}
	n := &Node{
		opts: opts, log: opts.Logger, key: noise.Keypair{Private: priv, Public: pub},
		id: proto.DeviceID(pub), db: db, keeper: k, cfg: cfg, folders: make(map[string]*folderHandle),
	}
	n.conns = newConnManager(n.key, n, n.log, opts.Now)
	n.relays.init()
	n.setRelayBudget(cfg)
	n.conns.bw.apply(limitsOf(cfg, opts.MaxSend, opts.MaxRecv), true)
	n.resolver = discovery.NewStatic()
	n.setAddrs(config.Config{}, cfg)
	n.conns.setIgnored(cfg.Ignored)
	if n.lan, err = n.newLAN(); err != nil {
		k.close()
		db.Close()
		unlock()
		return nil, nil, err
	}
	return n, func() { k.close(); db.Close(); unlock() }, nil
}

// openIndex opens the home's index. A damaged one is kept aside and a
// missing one made anew, each said in one line: the folders then rebuild it
// from what is on disk and what the peers announce, and a file whose
// content is the peers' takes their version instead of conflicting.
func openIndex(opts Options, cfg config.Config) (*index.DB, error) {
	path := filepath.Join(opts.Home, "index.db")
	db, rec, err := index.OpenChecked(path, opts.Now())
	switch {
	case err != nil:
		return nil, err
	case rec.Damaged != nil:
		opts.Logger.Error("the index was damaged: it is kept aside and rebuilt from the folders on disk and the other devices; nothing is deleted meanwhile",
			"kept", rec.KeptAt, "err", rec.Damaged)
	case rec.Missing && len(cfg.Folders) > 0:
		opts.Logger.Warn("the index is missing: it is rebuilt from the folders on disk and the other devices; nothing is deleted meanwhile", "path", path)
	}
	return db, nil
}

func (n *Node) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n.runCtx = ctx
	listen := n.cfg.Listen
	if len(n.opts.Listen) > 0 {
		listen = n.opts.Listen
	}
	n.mu.Lock()
	for _, f := range n.cfg.Folders {
		n.startFolder(f)
	}
	n.mu.Unlock()
	fail := func(err error) error {
		cancel()
		n.shutdown()
		return err
	}
	gui, err := n.startGUI(ctx)
	if err != nil {
		return fail(err)
	}
	for _, addr := range listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(fmt.Errorf("listen on %s: %w (is another program using the port? set another with --listen)", addr, err))
		}
		n.log.Info("listening", "addr", ln.Addr().String(), "device", n.id.String())
		n.mu.Lock()
		n.listening = append(n.listening, ln.Addr())
		n.mu.Unlock()
		n.wg.Go(func() { n.conns.serveListener(ctx, ln) })
	}
	n.startLAN(ctx)
	n.startReach(ctx)
	n.wg.Go(func() { n.conns.dialLoop(ctx, n.trustedDevices) })
	n.wg.Go(func() { n.sampleRates(ctx) })
	n.wg.Go(func() { n.pruneHistory(ctx) })
	if n.opts.Ready != nil {
		n.opts.Ready(gui)
	}
	<-ctx.Done()
	n.shutdown()
	return nil
}

func (n *Node) startGUI(ctx context.Context) (string, error) {
	addr := n.cfg.GUI
	if n.opts.GUI != "" {
		addr = n.opts.GUI
	}
	key, err := web.LoadOrCreateAPIKey(n.opts.Home)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("web UI: listen on %s: %w (set another address with --gui)", addr, err)
	}
	srv := &http.Server{Handler: web.NewServer(n, key, n.log), ReadHeaderTimeout: 10 * time.Second}
	n.wg.Go(func() { srv.Serve(ln) })
	n.wg.Go(func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	return ln.Addr().String(), nil
}

func (n *Node) shutdown() {
	n.reconfig.Lock()
	n.closing = true
	n.reconfig.Unlock()
	n.mu.Lock()
	handles := slices.Collect(maps.Values(n.folders))
	n.mu.Unlock()
	for _, h := range handles {
		h.cancel()
		<-h.done
	}
	n.conns.closeAll()
	n.wg.Wait()
}

// startFolder opens a folder and runs it under a supervisor that reopens
// it after a failure. n.mu must be held. The first runner is made before
// startFolder returns, so a peer connecting right after start finds it.
func (n *Node) startFolder(f config.Folder) {
	ctx, cancel := context.WithCancel(n.runCtx)
	h := &folderHandle{cfg: f, shared: deviceSet(f.Devices), cancel: cancel, done: make(chan struct{}), retry: make(chan struct{}, 1)}
	n.folders[f.ID] = h
	if f.Paused {
		h.err = errPaused
		close(h.done)
		return
	}
	err := n.openFolder(h)
	h.err = err
	go func() {
		defer close(h.done)
		var logged string // the last error logged, so a waiting folder does not flood the log
		for {
			if err == nil {
				logged = ""
				err = withResumeHint(h.runner.run(ctx), f.ID)
				h.fs.Close()
				n.mu.Lock()
				h.runner, h.err = nil, err
				n.mu.Unlock()
			}
			if ctx.Err() != nil {
				return
			}
			if msg := err.Error(); msg != logged {
				logged = msg
				n.log.Error("folder stopped; retrying every few seconds", "folder", f.ID, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			case <-h.retry:
			}
			n.mu.Lock()
			err = n.openFolder(h)
			h.err = err
			n.mu.Unlock()
			if err == nil {
				// Peers must see the new runner's Hello before it gets their updates.
				for _, dev := range h.cfg.Devices {
					n.conns.closeDevice(dev, "folder restarted")
				}
			}
		}
	}()
}

// errPaused is why a paused folder does not run.
var errPaused = errors.New("paused")

// withResumeHint adds to an error saying a folder's marker is missing how
// to say the folder is right.
func withResumeHint(err error, id string) error {
	if !errors.Is(err, platform.ErrNoMarker) {
		return err
	}
	return fmt.Errorf("%w; if the folder is right, run `ferry folder resume %s`", err, id)
}

// openFolder makes h's runner. n.mu must be held.
func (n *Node) openFolder(h *folderHandle) error {
	h.runner, h.fs = nil, nil
	if err := config.CheckHomeApart(h.cfg.Path, n.opts.Home); err != nil {
		return err
	}
	fs, err := platform.OpenFolder(h.cfg.Path)
	if errors.Is(err, platform.ErrNoMarker) {
		return withResumeHint(err, h.cfg.ID)
	}
	if err != nil {
		return fmt.Errorf("open folder: %w", err)
	}
	logNames(fs, n.log.With("folder", h.cfg.ID))
	h.names = fs.NameRules()
	idx, err := n.folderIndex(h.cfg, fs.Device())
	if err != nil {
		fs.Close()
		return err
	}
	r, err := newFolderRunner(n.engineConfig(h.cfg), fs, idx, n, n.log, n.opts.Now)
	if errors.Is(err, engine.ErrLoad) {
		// Records that cannot be read: the folder's index starts afresh
		// and is rebuilt like a lost one.
		n.log.Error("the folder's index is damaged: it is rebuilt from the folder on disk and the other devices", "folder", h.cfg.ID, "err", err)
		if err = n.db.DropFolder(h.cfg.ID); err == nil {
			if idx, err = n.db.Folder(h.cfg.ID); err == nil {
				r, err = newFolderRunner(n.engineConfig(h.cfg), fs, idx, n, n.log, n.opts.Now)
			}
		}
	}
	if err != nil {
		fs.Close()
		return err
	}
	r.space = newSpace(h.cfg.Path, n.opts.Home, n.cfg.MinFreeSpace())
	r.keeper = n.keeper
	h.fs, h.runner = fs, r
	id := h.cfg.ID
	r.unwatchable = func() { n.rescanUnwatched(id) }
	return nil
}

// folderIndex opens the index of folder f, whose directory is on the file
// system dev. An index kept for another directory (the folder was removed
// and added again elsewhere, or its path edited by hand) describes files
// that are not there: it is dropped and rebuilt from the folder on disk and
// the other devices, as a lost one is, which deletes nothing. Moving a
// folder with `ferry folder set --path` moves the index with it instead
// (see SetFolder); a folder moved to another file system has other inode
// numbers there, which its records then forget, so that the files it has
// are taken for what they were and not for new versions.
func (n *Node) folderIndex(f config.Folder, dev uint64) (*index.Folder, error) {
	idx, err := n.db.Folder(f.ID)
	if err != nil {
		return nil, err
	}
	was, wasDev, err := idx.Root()
	if err != nil {
		return nil, err
	}
	switch {
	case was != "" && was != f.Path:
		n.log.Warn("the folder's index was kept for another directory: it is rebuilt from the folder on disk and the other devices; nothing is deleted meanwhile",
			"folder", f.ID, "was", was, "path", f.Path)
		if err := n.db.DropFolder(f.ID); err != nil {
			return nil, err
		}
		if idx, err = n.db.Folder(f.ID); err != nil {
			return nil, err
		}
	case wasDev != 0 && dev != 0 && wasDev != dev:
		changed, err := idx.ForgetInodes()
		if err != nil {
			return nil, err
		}
		n.log.Info("the folder is on another file system than before: its files are checked by content and time", "folder", f.ID, "records", changed)
	}
	if was != f.Path || wasDev != dev {
		if err := idx.SetRoot(f.Path, dev); err != nil {
			return nil, err
		}
	}
	return idx, nil
}

// logNames logs the names a scan of fs leaves out, once each, and those
// it renames to NFC.
func logNames(fs *platform.Folder, log *slog.Logger) {
	var skipped sync.Map
	fs.OnSkip = func(name string, err error) {
		if _, seen := skipped.LoadOrStore(name, true); !seen {
			log.Warn("not synced", "name", name, "err", err)
		}
	}
	fs.OnNormalize = func(from, to string) {
		log.Info("renamed to Unicode NFC so that it can be synced", "from", from, "to", to)
	}
}

// engineConfig is the engine's view of folder f. A folder without a
// configured scan interval is rescanned hourly while it is watched and every
// few seconds when it cannot be. n.mu must be held.
func (n *Node) engineConfig(f config.Folder) engine.Config {
	iv := time.Duration(f.ScanInterval)
	if iv == 0 {
		iv = time.Duration(n.cfg.ScanInterval)
	}
	if iv == 0 {
		iv = time.Duration(config.WatchedScanInterval)
		if h := n.folders[f.ID]; h != nil && h.runner != nil && h.runner.unwatched.Load() {
			iv = time.Duration(config.UnwatchedScanInterval)
		}
	}
	t := engine.SendReceive
	switch f.Type {
	case config.SendOnly:
		t = engine.SendOnly
	case config.ReceiveOnly:
		t = engine.ReceiveOnly
	}
	g := f.Guard()
	names := platform.LocalNameRules()
	if h := n.folders[f.ID]; h != nil && h.names != (platform.NameRules{}) {
		names = h.names
	}
	return engine.Config{
		Folder: f.ID, Local: n.id, Type: t, Devices: f.Devices, ScanInterval: iv,
		Guard: engine.Guard{Files: g.Files, Percent: g.Percent}, TombstoneLifetime: n.cfg.Tombstones(),
		// Many operations in flight make each index commit (an fsync) cover
		// many results; blocksInFlight bounds the memory they hold.
		MaxPulls: 512, MaxHashes: 1024,
		Names:   names,
		History: n.keeper != nil && !f.Keep.None(),
	}
}

// sampleRates feeds the transfer rate meters until ctx ends.
func (n *Node) sampleRates(ctx context.Context) {
	t := time.NewTicker(rateEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := n.opts.Now()
		n.conns.sampleRates(now)
		n.mu.RLock()
		for _, h := range n.folders {
			if r := h.runner; r != nil {
				r.pullRate.sample(now, r.pulled.Load())
			}
		}
		n.mu.RUnlock()
		n.trimIfIdle(now)
	}
}

// rescanUnwatched gives a folder that cannot be watched frequent rescans.
func (n *Node) rescanUnwatched(folder string) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if h := n.folders[folder]; h != nil && h.runner != nil {
		h.runner.in.put(engine.ConfigChange{Config: n.engineConfig(h.cfg)})
	}
}

func (n *Node) trustedDevices() []proto.DeviceID {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]proto.DeviceID, 0, len(n.cfg.Devices))
	for _, d := range n.cfg.Devices {
		if !d.Paused {
			out = append(out, d.ID)
		}
	}
	return out
}

func deviceSet(devs []proto.DeviceID) map[proto.DeviceID]bool {
	m := make(map[proto.DeviceID]bool, len(devs))
	for _, d := range devs {
		m[d] = true
	}
	return m
}

// send and request implement network for folder runners.
// send queues m for dev; a Close from an engine ends the connection, which
// the devices then make again.
func (n *Node) send(dev proto.DeviceID, m proto.Message) {
	c := n.conns.conn(dev)
	if c == nil {
		return
	}
	if cl, ok := m.(*proto.Close); ok {
		n.log.Warn("closing the connection to resynchronise", "device", dev.Abbrev(), "reason", cl.Reason)
		c.close(cl.Reason)
		return
	}
	c.send(m)
}

// sendThen is send, calling done once m has been written to the
// connection; never if there is none or it ends first.
func (n *Node) sendThen(dev proto.DeviceID, m proto.Message, done func()) {
	if c := n.conns.conn(dev); c != nil {
		c.sendThen(m, done)
	}
}

func (n *Node) request(ctx context.Context, dev proto.DeviceID, req *proto.Request) ([]byte, error) {
	c := n.conns.conn(dev)
	if c == nil {
		return nil, errNotConnected
	}
	return c.request(ctx, req)
}

// setRelayBudget applies the relay settings of cfg.
func (n *Node) setRelayBudget(cfg config.Config) {
	r := cfg.RelayConfig()
	if r.Off {
		n.relays.setBudget(0)
		return
	}
	n.relays.setBudget(r.BudgetPerDay)
}

// setAddrs updates the resolver from a config change.
func (n *Node) setAddrs(prev, next config.Config) {
	for _, d := range prev.Devices {
		if _, ok := next.Device(d.ID); !ok {
			n.resolver.Set(d.ID, nil)
		}
	}
	for _, d := range next.Devices {
		n.resolver.Set(d.ID, d.Addrs)
	}
}
