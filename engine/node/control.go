package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"ferry/engine/config"
	"ferry/platform"
	"ferry/proto"
	"ferry/web"
)

// RemoveFolder implements web.Backend. The folder stops before the call
// returns; its files stay on disk, and so do its index and its history
// unless forget is set, so that adding it again at the same path takes up
// where it left off.
func (n *Node) RemoveFolder(ctx context.Context, folder string, forget bool) error {
	var stopped func() error
	if forget {
		stopped = func() error {
			if err := n.db.DropFolder(folder); err != nil {
				return err
			}
			if n.keeper != nil {
				if err := n.keeper.hist.DropFolder(folder); err != nil {
					return fmt.Errorf("forget the history of folder %s: %w", folder, err)
				}
			}
			return nil
		}
	}
	err := n.changeConfigThen(func(c *config.Config) error { return c.RemoveFolder(folder) }, stopped)
	if err == nil {
		n.log.Info("folder removed; its files stay on disk", "folder", folder, "forget", forget)
	}
	return err
}

// UnshareFolder implements web.Backend.
func (n *Node) UnshareFolder(ctx context.Context, folder, device string) error {
	id, err := proto.ParseDeviceID(device)
	if err != nil {
		return web.BadRequest(err)
	}
	return n.changeConfig(func(c *config.Config) error { return c.UnshareFolder(folder, id) })
}

// SetDevice implements web.Backend.
func (n *Node) SetDevice(ctx context.Context, device string, s web.DeviceSettings) error {
	id, err := proto.ParseDeviceID(device)
	if err != nil {
		return web.BadRequest(err)
	}
	return n.changeConfig(func(c *config.Config) error { return c.SetDevice(id, deviceChange(s)) })
}

// deviceChange is s as a config change.
func deviceChange(s web.DeviceSettings) config.DeviceChange {
	return config.DeviceChange{Name: s.Name, Addrs: s.Addrs, Paused: s.Paused, MaxSend: s.MaxSend, MaxRecv: s.MaxRecv}
}

// AcceptFolder implements web.Backend: a folder the device offers is
// added at req.Path and shared with it, or, when a folder here has its
// ID, that folder is shared with it.
func (n *Node) AcceptFolder(ctx context.Context, req web.AcceptRequest) (string, error) {
	dev, err := proto.ParseDeviceID(req.Device)
	if err != nil {
		return "", web.BadRequest(err)
	}
	if !n.offered.has(dev, req.Folder) {
		return "", web.NotFound(fmt.Errorf("device %s does not offer a folder %q (see `ferry folder offered`)", dev.Abbrev(), req.Folder))
	}
	var path string
	err = n.changeConfig(func(c *config.Config) error {
		if f, ok := c.Folder(req.Folder); ok {
			if req.Path != "" {
				abs, err := filepath.Abs(req.Path)
				if err != nil || abs != f.Path {
					return web.BadRequest(fmt.Errorf("a folder %q is at %s here: accept it into that path (or give none), or remove it first", f.ID, f.Path))
				}
			}
			path = f.Path
			return c.ShareFolder(f.ID, dev)
		}
		if req.Path == "" {
			return web.BadRequest(fmt.Errorf("say where to put folder %q", req.Folder))
		}
		next := c.Clone()
		id, err := next.AddFolder(config.Folder{ID: req.Folder, Path: req.Path, Devices: []proto.DeviceID{dev}})
		if err != nil {
			return err
		}
		nf, _ := next.Folder(id)
		if err := config.CheckHomeApart(nf.Path, n.opts.Home); err != nil {
			return err
		}
		if err := os.MkdirAll(nf.Path, 0o755); err != nil {
			return web.BadRequest(fmt.Errorf("make the folder's directory: %w", err))
		}
		if err := platform.InitFolder(nf.Path); err != nil {
			return web.BadRequest(err)
		}
		path = nf.Path
		*c = next
		return nil
	})
	return path, err
}

// setPaused pauses or resumes a folder.
func (n *Node) setPaused(folder string, paused bool) error {
	return n.changeConfig(func(c *config.Config) error { return c.SetFolderPaused(folder, paused) })
}

// folderPaused reports whether folder is configured paused.
func (n *Node) folderPaused(folder string) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	f, ok := n.cfg.Folder(folder)
	return ok && f.Paused
}

// setFolderPath points folder at the directory it was moved to, which must
// be there. The index goes with the folder: a directory moved as it was
// is scanned unchanged and nothing is fetched again. One without the
// folder's marker stops the folder, as a missing disk does, until the user
// says it is right.
func setFolderPath(c *config.Config, folder, path, home string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return web.BadRequest(fmt.Errorf("folder path %q: %w", path, err))
	}
	fi, err := os.Stat(abs)
	switch {
	case err != nil:
		return web.BadRequest(fmt.Errorf("the new path of folder %s: %w", folder, err))
	case !fi.IsDir():
		return web.BadRequest(fmt.Errorf("the new path of folder %s, %s, is not a directory", folder, abs))
	}
	if err := config.CheckHomeApart(abs, home); err != nil {
		return web.BadRequest(err)
	}
	return c.SetFolderPath(folder, abs)
}

// moveIndex records that folder's index describes the directory the
// config now names, once the folder has stopped: the index goes with a
// moved folder (see folderIndex).
func (n *Node) moveIndex(folder string) error {
	n.mu.RLock()
	f, ok := n.cfg.Folder(folder)
	n.mu.RUnlock()
	if !ok {
		return nil
	}
	idx, err := n.db.Folder(folder)
	if err != nil {
		return err
	}
	_, dev, err := idx.Root()
	if err != nil {
		return err
	}
	return idx.SetRoot(f.Path, dev)
}

// offeredStatus lists the folders trusted devices offer, with their
// names; a folder shared with the device by now is left out.
func offeredStatus(cfg config.Config, offers []offered) []web.OfferedFolder {
	out := []web.OfferedFolder{}
	for _, o := range offers {
		d, ok := cfg.Device(o.dev)
		if !ok {
			continue
		}
		f, existing := cfg.Folder(o.folder)
		if existing && slices.Contains(f.Devices, o.dev) {
			continue
		}
		out = append(out, web.OfferedFolder{
			Device: o.dev.String(), DeviceName: d.Name, Folder: o.folder, Existing: existing,
			LastSeen: o.seen.UTC().Format(time.RFC3339),
		})
	}
	return out
}
