package node

import (
	"errors"
	"slices"

	"ferry/engine"
	"ferry/engine/config"
	"ferry/proto"
	"ferry/web"
)

// changeConfig applies a change to a copy of the config, saves it and makes
// the running node follow it: new folders start, folders whose devices
// changed get the new list, and connections whose trust or shares changed
// are dropped so they come back with a fresh Hello.
func (n *Node) changeConfig(change func(*config.Config) error) error {
	n.mu.Lock()
	next := n.cfg.Clone()
	if err := change(&next); err != nil {
		n.mu.Unlock()
		return apiError(err)
	}
	if err := next.Validate(); err != nil {
		n.mu.Unlock()
		return apiError(err)
	}
	if err := config.Save(n.opts.Home, next); err != nil {
		n.mu.Unlock()
		return err
	}
	prev := n.cfg
	n.cfg = next
	reconnect := n.applyFolders(prev, next)
	for _, h := range n.folders {
		if h.runner != nil && h.runner.space != nil {
			h.runner.space.setMin(next.MinFreeSpace())
		}
	}
	n.setAddrs(prev, next)
	n.mu.Unlock()
	// Outside n.mu: the connection manager calls into the node (up, down)
	// with its own lock held, so taking it under n.mu would deadlock.
	n.conns.setIgnored(next.Ignored)
	n.setRelayBudget(next)
	n.conns.bw.apply(limitsOf(next, n.opts.MaxSend, n.opts.MaxRecv), false)
	for _, d := range prev.Devices {
		if _, ok := next.Device(d.ID); !ok {
			reconnect = append(reconnect, d.ID)
		}
	}
	for _, dev := range reconnect {
		n.conns.closeDevice(dev, "configuration changed")
	}
	n.conns.kickDial()
	return nil
}

// applyFolders starts new folders and updates changed ones; it returns the
// devices whose shares changed. n.mu must be held.
func (n *Node) applyFolders(prev, next config.Config) []proto.DeviceID {
	var changed []proto.DeviceID
	for _, f := range next.Folders {
		old, existed := prev.Folder(f.ID)
		if !existed {
			n.startFolder(f)
			changed = append(changed, f.Devices...)
			continue
		}
		sameShares := slices.Equal(old.Devices, f.Devices) && old.Type == f.Type
		if sameShares && old.Keep == f.Keep && old.ScanInterval == f.ScanInterval && prev.ScanInterval == next.ScanInterval && old.Guard() == f.Guard() &&
			prev.Tombstones() == next.Tombstones() {
			continue
		}
		h := n.folders[f.ID]
		h.cfg, h.shared = f, deviceSet(f.Devices)
		if h.runner != nil {
			h.runner.in.put(engine.ConfigChange{Config: n.engineConfig(f)})
		}
		switch {
		case old.Type != f.Type:
			// What the folder sends depends on its type: the devices
			// it is shared with connect again and exchange indexes.
			changed = append(changed, f.Devices...)
		case !sameShares:
			changed = append(changed, symmetricDiff(old.Devices, f.Devices)...)
		}
	}
	return changed
}

func symmetricDiff(a, b []proto.DeviceID) []proto.DeviceID {
	var out []proto.DeviceID
	for _, d := range a {
		if !slices.Contains(b, d) {
			out = append(out, d)
		}
	}
	for _, d := range b {
		if !slices.Contains(a, d) {
			out = append(out, d)
		}
	}
	return out
}

func apiError(err error) error {
	switch {
	case errors.Is(err, config.ErrNotFound):
		return web.NotFound(err)
	case errors.Is(err, config.ErrInvalid):
		return web.BadRequest(err)
	}
	return err
}
