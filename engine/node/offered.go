package node

import (
	"slices"
	"strings"
	"sync"
	"time"

	"ferry/engine/config"
	"ferry/proto"
)

// maxOfferedPerDevice bounds the folders listed as offered by one device:
// a device listing more in its Hello has the rest left out.
const maxOfferedPerDevice = 64

// offeredFolders are the folders trusted devices share with this one that
// it does not take, as their last Hello said, for the user to accept.
// Devices are bounded by the config (only trusted devices say Hello),
// folders per device by maxOfferedPerDevice.
type offeredFolders struct {
	mu sync.Mutex
	m  map[proto.DeviceID]offerSet
}

type offerSet struct {
	folders []string // sorted
	seen    time.Time
}

// offered is one listed folder.
type offered struct {
	dev    proto.DeviceID
	folder string
	seen   time.Time
}

// set replaces what dev offers, and reports whether the list changed
// to a non-empty one.
func (o *offeredFolders) set(dev proto.DeviceID, folders []string, now time.Time) bool {
	folders = slices.Clone(folders)
	folders = slices.DeleteFunc(folders, func(id string) bool { return config.CheckFolderID(id) != nil })
	slices.Sort(folders)
	folders = slices.Compact(folders)
	if len(folders) > maxOfferedPerDevice {
		folders = folders[:maxOfferedPerDevice]
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.m[dev]
	if len(folders) == 0 {
		delete(o.m, dev)
		return false
	}
	if o.m == nil {
		o.m = make(map[proto.DeviceID]offerSet)
	}
	o.m[dev] = offerSet{folders: folders, seen: now}
	return !slices.Equal(old.folders, folders)
}

// forgetShared drops the offers of devices no longer trusted and of
// folders now shared with the device offering them.
func (o *offeredFolders) forgetShared(cfg config.Config) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for dev, s := range o.m {
		if _, ok := cfg.Device(dev); !ok {
			delete(o.m, dev)
			continue
		}
		s.folders = slices.DeleteFunc(slices.Clone(s.folders), func(id string) bool {
			f, ok := cfg.Folder(id)
			return ok && slices.Contains(f.Devices, dev)
		})
		if len(s.folders) == 0 {
			delete(o.m, dev)
		} else {
			o.m[dev] = s
		}
	}
}

// has reports whether dev offers folder.
func (o *offeredFolders) has(dev proto.DeviceID, folder string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := slices.BinarySearch(o.m[dev].folders, folder)
	return ok
}

// list returns every offer, by device and folder.
func (o *offeredFolders) list() []offered {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []offered
	for dev, s := range o.m {
		for _, f := range s.folders {
			out = append(out, offered{dev: dev, folder: f, seen: s.seen})
		}
	}
	slices.SortFunc(out, func(a, b offered) int {
		if c := strings.Compare(a.dev.String(), b.dev.String()); c != 0 {
			return c
		}
		return strings.Compare(a.folder, b.folder)
	})
	return out
}
