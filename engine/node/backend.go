package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"ferry/engine"
	"ferry/engine/config"
	"ferry/index/history"
	"ferry/platform"
	"ferry/proto"
	"ferry/web"
)

var _ web.Backend = (*Node)(nil)

// Status implements web.Backend.
func (n *Node) Status(ctx context.Context) (web.Status, error) {
	n.mu.RLock()
	cfg := n.cfg.Clone()
	runners := make(map[string]*folderRunner, len(n.folders))
	stopped := make(map[string]error)
	for id, h := range n.folders {
		runners[id] = h.runner
		stopped[id] = h.err
	}
	n.mu.RUnlock()
	st := web.Status{
		Device:  n.thisDevice(cfg),
		Folders: []web.FolderStatus{}, Devices: []web.DeviceStatus{}, Pending: []web.PendingDevice{},
	}
	for _, f := range cfg.Folders {
		fs := folderStatus(f, runners[f.ID], stopped[f.ID])
		if p := n.keeper.problem(); p != "" {
			fs.Errors = append(fs.Errors, p)
		}
		st.Folders = append(st.Folders, fs)
	}
	for _, d := range cfg.Devices {
		st.Devices = append(st.Devices, n.deviceStatus(d))
	}
	for dev, p := range n.conns.pendingList() {
		st.Pending = append(st.Pending, web.PendingDevice{ID: dev.String(), Address: p.addr, LastSeen: p.lastSeen.UTC().Format("2006-01-02T15:04:05Z07:00")})
	}
	slices.SortFunc(st.Pending, func(a, b web.PendingDevice) int { return strings.Compare(a.ID, b.ID) })
	st.Offered = offeredStatus(cfg, n.offered.list())
	return st, nil
}

func folderStatus(f config.Folder, r *folderRunner, stopped error) web.FolderStatus {
	fs := web.FolderStatus{ID: f.ID, Label: f.Label, Path: f.Path, Type: string(f.Type), State: "error", Paused: f.Paused, Errors: []string{}, Devices: []string{}}
	if f.ScanInterval != 0 {
		fs.ScanInterval = f.ScanInterval.String()
	}
	for _, d := range f.Devices {
		fs.Devices = append(fs.Devices, d.String())
	}
	if f.Paused {
		fs.State = web.StatePaused
		return fs
	}
	if r == nil {
		msg := "folder is not running (is the path there?)"
		if stopped != nil {
			msg = "folder stopped: " + stopped.Error()
		}
		fs.Errors = append(fs.Errors, msg)
		return fs
	}
	s, pulling, inFlight := r.progress()
	fs.State, fs.InSync = s.State, s.InSync
	fs.NeedFiles, fs.NeedBytes = s.NeedFiles, s.NeedBytes
	fs.LocalFiles, fs.LocalBytes = s.LocalFiles, s.LocalBytes
	fs.GlobalFiles, fs.GlobalBytes = s.GlobalFiles, s.GlobalBytes
	fs.Conflicts = s.Conflicts
	fs.HeldLocal, fs.HeldRemote, fs.HeldSample, fs.MassChange = s.HeldLocal, s.HeldRemote, s.HeldSample, s.MassChange
	fs.Apart, fs.ApartSample = s.Apart, s.ApartSample
	fs.Upgraded = s.Upgraded
	fs.PullingFiles, fs.Pulling = inFlight, make([]web.PullProgress, 0, len(pulling))
	for _, p := range pulling {
		fs.Pulling = append(fs.Pulling, web.PullProgress{Name: p.Name, Size: p.Size, Done: p.Done})
	}
	fs.InRate = r.pullRate.rate()
	if fs.NeedBytes > 0 && fs.InRate > 0 {
		fs.ETA = float64(fs.NeedBytes) / fs.InRate
	}
	if s.Errors != nil {
		fs.Errors = s.Errors
	}
	return fs
}

// thisDevice is the status of this device: its name, how the internet
// reaches it and what it relays.
func (n *Node) thisDevice(cfg config.Config) web.ThisDevice {
	t := web.ThisDevice{ID: n.id.String(), Name: cfg.Name}
	t.External, t.Mapping, t.DHT = n.reachStatus()
	rc := cfg.RelayConfig()
	t.Relay.On = !rc.Off
	t.Relay.Streams, t.Relay.Forwarded, t.Relay.Refused = n.relays.stats()
	return t
}

func (n *Node) deviceStatus(d config.Device) web.DeviceStatus {
	ds := web.DeviceStatus{ID: d.ID.String(), Name: d.Name, Paused: d.Paused, Addrs: slices.Clone(d.Addrs), MaxSend: d.MaxSend, MaxRecv: d.MaxRecv}
	if c := n.conns.conn(d.ID); c != nil {
		ds.Connected, ds.Address, ds.Via = true, c.addr, n.via(c)
		if c.relayed() {
			ds.Relay = c.via.String()
		}
	}
	s := n.conns.counters(d.ID)
	ds.InBytes, ds.OutBytes = s.in.Load(), s.out.Load()
	ds.InRate, ds.OutRate = s.inRate.rate(), s.outRate.rate()
	return ds
}

// Scan implements web.Backend: it returns once the scan has been applied.
func (n *Node) Scan(ctx context.Context, folder, path string) error {
	n.mu.RLock()
	h := n.folders[folder]
	var r *folderRunner
	var root string
	var stopped error
	if h != nil {
		r, root, stopped = h.runner, h.cfg.Path, h.err
	}
	n.mu.RUnlock()
	if h == nil {
		return web.NotFound(fmt.Errorf("no folder %q", folder))
	}
	if errors.Is(stopped, errPaused) {
		return web.BadRequest(fmt.Errorf("folder %s is paused; resume it first (`ferry folder resume %s`)", folder, folder))
	}
	if r == nil {
		return fmt.Errorf("folder %s is not running (is %s there?)", folder, root)
	}
	rel, err := relName(root, path)
	if err != nil {
		return web.BadRequest(err)
	}
	return r.scan(ctx, rel)
}

// relName turns a path given by the user (absolute inside the folder, or
// relative to it) into a folder-relative name; "" is the whole folder.
func relName(root, p string) (string, error) {
	if p == "" || p == "." || p == root {
		return "", nil
	}
	if filepath.IsAbs(p) {
		r, err := filepath.Rel(root, p)
		if err != nil || strings.HasPrefix(r, "..") {
			return "", fmt.Errorf("%s is not inside the folder %s", p, root)
		}
		p = r
	}
	p = filepath.ToSlash(filepath.Clean(p))
	if err := proto.ValidName(p); err != nil {
		return "", err
	}
	return p, nil
}

// AddDevice implements web.Backend.
func (n *Node) AddDevice(ctx context.Context, d web.DeviceRequest) error {
	id, err := proto.ParseDeviceID(d.ID)
	if err != nil {
		return web.BadRequest(err)
	}
	if id == n.id {
		return web.BadRequest(fmt.Errorf("%s is this device's own ID", id))
	}
	return n.changeConfig(func(c *config.Config) error {
		return c.AddDevice(config.Device{ID: id, Name: d.Name, Addrs: d.Addrs})
	})
}

// RemoveDevice implements web.Backend.
func (n *Node) RemoveDevice(ctx context.Context, s string) error {
	id, err := proto.ParseDeviceID(s)
	if err != nil {
		return web.BadRequest(err)
	}
	return n.changeConfig(func(c *config.Config) error { return c.RemoveDevice(id) })
}

// AddFolder implements web.Backend.
func (n *Node) AddFolder(ctx context.Context, f web.FolderRequest) (string, error) {
	t, err := config.ParseFolderType(f.Type)
	if err != nil {
		return "", web.BadRequest(err)
	}
	var id string
	err = n.changeConfig(func(c *config.Config) error {
		next := c.Clone()
		if id, err = next.AddFolder(config.Folder{ID: f.ID, Path: f.Path, Type: t}); err != nil {
			return err
		}
		// Only a folder being added gets its marker; see platform.InitFolder.
		nf, _ := next.Folder(id)
		if err := config.CheckHomeApart(nf.Path, n.opts.Home); err != nil {
			return err
		}
		if err := platform.InitFolder(nf.Path); err != nil {
			return web.BadRequest(err)
		}
		*c = next
		return nil
	})
	return id, err
}

// FolderAction implements web.Backend.
func (n *Node) FolderAction(ctx context.Context, folder, action string) error {
	n.mu.RLock()
	h := n.folders[folder]
	var r *folderRunner
	var cfg config.Folder
	var stopped error
	if h != nil {
		r, cfg, stopped = h.runner, h.cfg, h.err
	}
	n.mu.RUnlock()
	if h == nil {
		return web.NotFound(fmt.Errorf("no folder %q", folder))
	}
	switch action {
	case web.ActionPause:
		return n.setPaused(folder, true)
	case web.ActionResume:
		if n.folderPaused(folder) {
			// Only the pause ends: whether the directory is right is
			// checked when the folder opens, as at any start.
			return n.setPaused(folder, false)
		}
		if err := platform.InitFolder(cfg.Path); err != nil {
			return fmt.Errorf("resume folder %s: %w", folder, err)
		}
		if r != nil {
			r.in.put(engine.Acknowledge{})
			return nil
		}
		select {
		case h.retry <- struct{}{}:
		default:
		}
		return nil
	case web.ActionConfirmDeletes, web.ActionRevert:
		if r == nil {
			return fmt.Errorf("folder %s is not running: %v", folder, stopped)
		}
		if action == web.ActionRevert && cfg.Type == config.ReceiveOnly && cfg.Keep.None() {
			return web.BadRequest(fmt.Errorf("folder %s keeps no history (--keep none): undoing its local changes would lose them; set --keep first", folder))
		}
		if action == web.ActionRevert {
			r.in.put(engine.RevertDeletes{})
		} else {
			r.in.put(engine.ConfirmDeletes{})
		}
		return nil
	case web.ActionOverride:
		if cfg.Type != config.SendOnly {
			return web.BadRequest(fmt.Errorf("folder %s is %s: only a send-only folder overrides the others", folder, cfg.Type))
		}
		if r == nil {
			return fmt.Errorf("folder %s is not running: %v", folder, stopped)
		}
		r.in.put(engine.Override{})
		return nil
	}
	return web.BadRequest(fmt.Errorf("unknown folder action %q", action))
}

// ShareFolder implements web.Backend.
func (n *Node) ShareFolder(ctx context.Context, folder, device string) error {
	id, err := proto.ParseDeviceID(device)
	if err != nil {
		return web.BadRequest(err)
	}
	return n.changeConfig(func(c *config.Config) error { return c.ShareFolder(folder, id) })
}

// SetFolder implements web.Backend.
func (n *Node) SetFolder(ctx context.Context, folder string, s web.FolderSettings) error {
	var moved func() error
	if s.Path != "" {
		moved = func() error { return n.moveIndex(folder) }
	}
	return n.changeConfigThen(func(c *config.Config) error { return applyFolderSettings(c, folder, s, n.opts.Home) }, moved)
}

// applyFolderSettings changes the settings s names of folder in c.
func applyFolderSettings(c *config.Config, folder string, s web.FolderSettings, home string) error {
	if _, ok := c.Folder(folder); !ok {
		return web.NotFound(fmt.Errorf("folder %q does not exist", folder))
	}
	if s.Path != "" {
		if err := setFolderPath(c, folder, s.Path, home); err != nil {
			return err
		}
	}
	if s.Label != nil {
		if err := c.SetFolderLabel(folder, *s.Label); err != nil {
			return err
		}
	}
	if s.ScanInterval != "" {
		var d config.Duration
		if err := d.UnmarshalText([]byte(s.ScanInterval)); err != nil {
			return web.BadRequest(err)
		}
		if err := c.SetFolderScanInterval(folder, d); err != nil {
			return err
		}
	}
	if s.Type != "" {
		t, err := config.ParseFolderType(s.Type)
		if err != nil {
			return err
		}
		if err := c.SetFolderType(folder, t); err != nil {
			return err
		}
	}
	if s.Keep != "" {
		p, err := history.ParseKeep(s.Keep)
		if err != nil {
			return web.BadRequest(err)
		}
		if err := c.SetKeep(folder, p); err != nil {
			return err
		}
	}
	switch {
	case s.DefaultDeleteGuard:
		return c.SetDeleteGuard(folder, nil)
	case s.DeleteGuard != nil:
		return c.SetDeleteGuard(folder, &config.DeleteGuard{Files: s.DeleteGuard.Files, Percent: s.DeleteGuard.Percent})
	}
	return nil
}
