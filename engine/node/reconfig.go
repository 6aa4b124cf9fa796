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
// the running node follow it: new folders start, removed ones stop,
// paused or moved ones stop and start again, folders whose devices changed
// get the new list, and connections whose trust or shares changed are
// dropped so they come back with a fresh Hello.
func (n *Node) changeConfig(change func(*config.Config) error) error {
	return n.changeConfigThen(change, nil)
}

// changeConfigThen is changeConfig calling stopped, when not nil, once the
// folders the change stops have stopped and before any starts again;
// changes run one at a time.
func (n *Node) changeConfigThen(change func(*config.Config) error, stopped func() error) error {
	n.reconfig.Lock()
	defer n.reconfig.Unlock()
	if n.closing {
		return errors.New("the daemon is shutting down")
	}
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
	plan := n.applyFolders(prev, next)
	for _, h := range n.folders {
		if h.runner != nil && h.runner.space != nil {
			h.runner.space.setMin(next.MinFreeSpace())
		}
	}
	n.setAddrs(prev, next)
	n.mu.Unlock()
	// Outside n.mu: a stopping folder takes it on its way out, and the
	// connection manager calls into the node (up, down) with its own lock
	// held, so taking it under n.mu would deadlock.
	for _, h := range plan.stop {
		h.cancel()
		<-h.done
	}
	var err error
	if stopped != nil {
		err = stopped()
	}
	if len(plan.start) > 0 {
		n.mu.Lock()
		for _, id := range plan.start {
			if f, ok := n.cfg.Folder(id); ok && n.folders[id] == nil {
				n.startFolder(f)
			}
		}
		n.mu.Unlock()
	}
	n.conns.setIgnored(next.Ignored)
	n.setRelayBudget(next)
	n.offered.forgetShared(next)
	n.conns.bw.apply(limitsOf(next, n.opts.MaxSend, n.opts.MaxRecv), false)
	reconnect := plan.reconnect
	for _, d := range prev.Devices {
		nd, ok := next.Device(d.ID)
		if !ok || nd.Paused != d.Paused {
			reconnect = append(reconnect, d.ID)
		}
	}
	for _, dev := range reconnect {
		n.conns.closeDevice(dev, "configuration changed")
	}
	n.conns.kickDial()
	return err
}

// folderPlan is what a config change does to the running folders: the
// handles to stop (removed, paused, resumed or moved folders), the
// folders to start once they have stopped, and the devices to connect
// again since what is shared with them changed.
type folderPlan struct {
	stop      []*folderHandle
	start     []string
	reconnect []proto.DeviceID
}

// applyFolders starts new folders, updates changed ones and plans the
// rest; n.mu must be held. A handle to stop leaves n.folders at once, so
// nothing reaches its runner while it stops.
func (n *Node) applyFolders(prev, next config.Config) folderPlan {
	var plan folderPlan
	for _, old := range prev.Folders {
		if _, ok := next.Folder(old.ID); !ok {
			plan.stop = append(plan.stop, n.folders[old.ID])
			delete(n.folders, old.ID)
			plan.reconnect = append(plan.reconnect, old.Devices...)
		}
	}
	for _, f := range next.Folders {
		old, existed := prev.Folder(f.ID)
		if !existed {
			n.startFolder(f)
			plan.reconnect = append(plan.reconnect, f.Devices...)
			continue
		}
		h := n.folders[f.ID]
		if old.Paused != f.Paused || old.Path != f.Path {
			plan.stop = append(plan.stop, h)
			delete(n.folders, f.ID)
			plan.start = append(plan.start, f.ID)
			plan.reconnect = append(plan.reconnect, old.Devices...)
			plan.reconnect = append(plan.reconnect, f.Devices...)
			continue
		}
		sameShares := slices.Equal(old.Devices, f.Devices) && old.Type == f.Type
		h.cfg, h.shared = f, deviceSet(f.Devices)
		if sameShares && old.Keep == f.Keep && old.ScanInterval == f.ScanInterval && prev.ScanInterval == next.ScanInterval && old.Guard() == f.Guard() &&
			prev.Tombstones() == next.Tombstones() {
			continue
		}
		if h.runner != nil {
			h.runner.in.put(engine.ConfigChange{Config: n.engineConfig(f)})
		}
		switch {
		case old.Type != f.Type:
			// What the folder sends depends on its type: the devices
			// it is shared with connect again and exchange indexes.
			plan.reconnect = append(plan.reconnect, f.Devices...)
		case !sameShares:
			plan.reconnect = append(plan.reconnect, symmetricDiff(old.Devices, f.Devices)...)
		}
	}
	return plan
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
