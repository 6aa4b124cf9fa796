package node

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"ferry/engine/config"
	"ferry/proto"
	"ferry/web"
)

var _ web.Backend = (*Node)(nil)

// Status implements web.Backend.
func (n *Node) Status(ctx context.Context) (web.Status, error) {
	n.mu.RLock()
	cfg := n.cfg.Clone()
	runners := make(map[string]*folderRunner, len(n.folders))
	for id, h := range n.folders {
		runners[id] = h.runner
	}
	n.mu.RUnlock()
	st := web.Status{
		Device:  web.ThisDevice{ID: n.id.String(), Name: cfg.Name},
		Folders: []web.FolderStatus{}, Devices: []web.DeviceStatus{}, Pending: []web.PendingDevice{},
	}
	for _, f := range cfg.Folders {
		st.Folders = append(st.Folders, folderStatus(f, runners[f.ID]))
	}
	for _, d := range cfg.Devices {
		st.Devices = append(st.Devices, n.deviceStatus(d))
	}
	n.conns.mu.Lock()
	for dev, p := range n.conns.pending {
		st.Pending = append(st.Pending, web.PendingDevice{ID: dev.String(), Address: p.addr, LastSeen: p.lastSeen.UTC().Format("2006-01-02T15:04:05Z07:00")})
	}
	n.conns.mu.Unlock()
	slices.SortFunc(st.Pending, func(a, b web.PendingDevice) int { return strings.Compare(a.ID, b.ID) })
	return st, nil
}

func folderStatus(f config.Folder, r *folderRunner) web.FolderStatus {
	fs := web.FolderStatus{ID: f.ID, Path: f.Path, Type: string(f.Type), State: "error", Errors: []string{}, Devices: []string{}}
	for _, d := range f.Devices {
		fs.Devices = append(fs.Devices, d.String())
	}
	if r == nil {
		fs.Errors = append(fs.Errors, "folder is not running (is the path there?)")
		return fs
	}
	s := r.status()
	fs.State, fs.InSync = s.State, s.InSync
	fs.NeedFiles, fs.NeedBytes = s.NeedFiles, s.NeedBytes
	fs.LocalFiles, fs.LocalBytes = s.LocalFiles, s.LocalBytes
	fs.GlobalFiles, fs.GlobalBytes = s.GlobalFiles, s.GlobalBytes
	fs.Conflicts = s.Conflicts
	fs.InRate = r.pullRate.rate()
	if fs.NeedBytes > 0 && fs.InRate > 0 {
		fs.ETA = float64(fs.NeedBytes) / fs.InRate
	}
	if s.Errors != nil {
		fs.Errors = s.Errors
	}
	return fs
}

func (n *Node) deviceStatus(d config.Device) web.DeviceStatus {
	ds := web.DeviceStatus{ID: d.ID.String(), Name: d.Name}
	if c := n.conns.conn(d.ID); c != nil {
		ds.Connected, ds.Address = true, c.addr
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
	if h != nil {
		r, root = h.runner, h.cfg.Path
	}
	n.mu.RUnlock()
	if h == nil {
		return web.NotFound(fmt.Errorf("no folder %q", folder))
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
		id, err = c.AddFolder(config.Folder{ID: f.ID, Path: f.Path, Type: t})
		return err
	})
	return id, err
}

// ShareFolder implements web.Backend.
func (n *Node) ShareFolder(ctx context.Context, folder, device string) error {
	id, err := proto.ParseDeviceID(device)
	if err != nil {
		return web.BadRequest(err)
	}
	return n.changeConfig(func(c *config.Config) error { return c.ShareFolder(folder, id) })
}
