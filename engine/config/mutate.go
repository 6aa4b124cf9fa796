package config

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"ferry/index/history"
	"ferry/proto"
)

// AddDevice adds a trusted device.
func (c *Config) AddDevice(d Device) error {
	if _, ok := c.Device(d.ID); ok {
		return invalidf("device %s already added", d.ID)
	}
	d.Name = strings.TrimSpace(d.Name)
	d.Addrs = slices.Clone(d.Addrs)
	return c.apply(func(n *Config) {
		n.Devices = append(n.Devices, d)
		n.Ignored = slices.DeleteFunc(n.Ignored, func(x proto.DeviceID) bool { return x == d.ID })
	})
}

// IgnoreDevice stops listing an unknown device's connection attempts as
// pending. Trusting it later undoes this.
func (c *Config) IgnoreDevice(id proto.DeviceID) error {
	if _, ok := c.Device(id); ok {
		return invalidf("device %s is trusted; remove it instead", id)
	}
	if slices.Contains(c.Ignored, id) {
		return nil
	}
	return c.apply(func(n *Config) { n.Ignored = append(n.Ignored, id) })
}

// RemoveDevice forgets a device and stops sharing every folder with it.
func (c *Config) RemoveDevice(id proto.DeviceID) error {
	if _, ok := c.Device(id); !ok {
		return notFoundf("device %s is not a known device", id)
	}
	return c.apply(func(n *Config) {
		n.Devices = slices.DeleteFunc(n.Devices, func(d Device) bool { return d.ID == id })
		for i := range n.Folders {
			n.Folders[i].Devices = slices.DeleteFunc(n.Folders[i].Devices, func(d proto.DeviceID) bool { return d == id })
		}
	})
}

// AddFolder adds a folder and returns its ID. The path is made absolute and
// clean; an empty ID becomes a slug of the path's last element, made unique
// with a numeric suffix; an empty type is SendReceive.
func (c *Config) AddFolder(f Folder) (string, error) {
	if strings.TrimSpace(f.Path) == "" {
		return "", invalidf("folder path is empty")
	}
	abs, err := filepath.Abs(f.Path)
	if err != nil {
		return "", invalidf("folder path %q: %v", f.Path, err)
	}
	f.Path = abs
	if f.Type, err = ParseFolderType(string(f.Type)); err != nil {
		return "", err
	}
	if f.ID == "" {
		f.ID = c.uniqueFolderID(slug(filepath.Base(abs)))
	} else if _, ok := c.Folder(f.ID); ok {
		return "", invalidf("folder %q already exists", f.ID)
	}
	f.Devices = slices.Clone(f.Devices)
	if err := c.apply(func(n *Config) { n.Folders = append(n.Folders, f) }); err != nil {
		return "", err
	}
	return f.ID, nil
}

// ShareFolder shares a folder with a known device. Sharing it again with the
// same device changes nothing.
func (c *Config) ShareFolder(folderID string, dev proto.DeviceID) error {
	f, ok := c.Folder(folderID)
	if !ok {
		return notFoundf("folder %q does not exist", folderID)
	}
	if _, ok := c.Device(dev); !ok {
		return notFoundf("device %s is not a known device; add it first", dev)
	}
	if slices.Contains(f.Devices, dev) {
		return nil
	}
	return c.changeFolder(folderID, func(f *Folder) { f.Devices = append(f.Devices, dev) })
}

// SetFolderType changes the type of the folder folderID.
func (c *Config) SetFolderType(folderID string, t FolderType) error {
	return c.changeFolder(folderID, func(f *Folder) { f.Type = t })
}

// SetKeep changes which old versions of folderID's files are kept.
func (c *Config) SetKeep(folderID string, p history.Policy) error {
	return c.changeFolder(folderID, func(f *Folder) { f.Keep = p })
}

// apply makes a change on a copy and keeps it only if the result is valid.
func (c *Config) apply(change func(*Config)) error {
	next := c.Clone()
	change(&next)
	if err := next.Validate(); err != nil {
		return err
	}
	*c = next
	return nil
}

// uniqueFolderID returns base, or base-2, base-3, … whichever is unused.
func (c *Config) uniqueFolderID(base string) string {
	id := base
	for n := 2; ; n++ {
		if _, taken := c.Folder(id); !taken {
			return id
		}
		suffix := "-" + strconv.Itoa(n)
		id = base[:min(len(base), MaxFolderIDLen-len(suffix))] + suffix
	}
}

// slug turns a name into a folder ID: lower case, runs of other characters
// replaced by '-', at most MaxFolderIDLen long, "folder" if nothing is left.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-.")
	if len(s) > MaxFolderIDLen {
		s = strings.Trim(s[:MaxFolderIDLen], "-.")
	}
	if s == "" {
		return "folder"
	}
	return s
}

// SetDeleteGuard sets a folder's mass-delete rule; nil restores the default.
func (c *Config) SetDeleteGuard(folderID string, g *DeleteGuard) error {
	if g != nil {
		c := *g
		g = &c
	}
	return c.changeFolder(folderID, func(f *Folder) { f.DeleteGuard = g })
}

// folderIndex returns the index of folder id in n.Folders; the folder must
// exist.
func (c *Config) folderIndex(id string) int {
	return slices.IndexFunc(c.Folders, func(f Folder) bool { return f.ID == id })
}

// changeFolder applies change to folder id, which must exist.
func (c *Config) changeFolder(id string, change func(*Folder)) error {
	if _, ok := c.Folder(id); !ok {
		return notFoundf("folder %q does not exist", id)
	}
	return c.apply(func(n *Config) { change(&n.Folders[n.folderIndex(id)]) })
}

// changeDevice applies change to device id, which must be known.
func (c *Config) changeDevice(id proto.DeviceID, change func(*Device)) error {
	if _, ok := c.Device(id); !ok {
		return notFoundf("device %s is not a known device", id)
	}
	return c.apply(func(n *Config) {
		i := slices.IndexFunc(n.Devices, func(d Device) bool { return d.ID == id })
		change(&n.Devices[i])
	})
}

// RemoveFolder stops listing a folder. Its files stay where they are.
func (c *Config) RemoveFolder(id string) error {
	if _, ok := c.Folder(id); !ok {
		return notFoundf("folder %q does not exist", id)
	}
	return c.apply(func(n *Config) {
		n.Folders = slices.DeleteFunc(n.Folders, func(f Folder) bool { return f.ID == id })
	})
}

// UnshareFolder stops sharing a folder with a device.
func (c *Config) UnshareFolder(folderID string, dev proto.DeviceID) error {
	f, ok := c.Folder(folderID)
	if !ok {
		return notFoundf("folder %q does not exist", folderID)
	}
	if !slices.Contains(f.Devices, dev) {
		return notFoundf("folder %q is not shared with device %s", folderID, dev)
	}
	return c.changeFolder(folderID, func(f *Folder) {
		f.Devices = slices.DeleteFunc(f.Devices, func(d proto.DeviceID) bool { return d == dev })
	})
}

// SetFolderPaused pauses or resumes a folder.
func (c *Config) SetFolderPaused(id string, paused bool) error {
	return c.changeFolder(id, func(f *Folder) { f.Paused = paused })
}

// SetFolderPath points a folder at the directory it was moved to: the
// path is made absolute and clean.
func (c *Config) SetFolderPath(id, path string) error {
	if strings.TrimSpace(path) == "" {
		return invalidf("folder path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return invalidf("folder path %q: %v", path, err)
	}
	return c.changeFolder(id, func(f *Folder) { f.Path = abs })
}

// SetFolderLabel changes the name a folder is shown by; empty shows its
// ID.
func (c *Config) SetFolderLabel(id, label string) error {
	label = strings.TrimSpace(label)
	return c.changeFolder(id, func(f *Folder) { f.Label = label })
}

// SetFolderScanInterval changes how often a folder is rescanned in full; 0
// means the global interval.
func (c *Config) SetFolderScanInterval(id string, d Duration) error {
	return c.changeFolder(id, func(f *Folder) { f.ScanInterval = d })
}

// RenameDevice changes the name a device is shown by; empty shows its ID.
func (c *Config) RenameDevice(id proto.DeviceID, name string) error {
	name = strings.TrimSpace(name)
	if err := checkName(name); err != nil {
		return invalidf("device name: %v", err)
	}
	return c.changeDevice(id, func(d *Device) { d.Name = name })
}

// DeviceChange is a change of a device's settings: the fields that are
// not nil.
type DeviceChange struct {
	Name             *string
	Addrs            *[]string
	Paused           *bool
	MaxSend, MaxRecv *int64
}

// SetDevice makes the change ch to device id, all of it or nothing.
func (c *Config) SetDevice(id proto.DeviceID, ch DeviceChange) error {
	d, ok := c.Device(id)
	if !ok {
		return notFoundf("device %s is not a known device", id)
	}
	next := c.Clone()
	if ch.Name != nil {
		if err := next.RenameDevice(id, *ch.Name); err != nil {
			return err
		}
	}
	if ch.Addrs != nil {
		if err := next.SetDeviceAddrs(id, *ch.Addrs); err != nil {
			return err
		}
	}
	if ch.Paused != nil {
		if err := next.SetDevicePaused(id, *ch.Paused); err != nil {
			return err
		}
	}
	if ch.MaxSend != nil || ch.MaxRecv != nil {
		send, recv := d.MaxSend, d.MaxRecv
		if ch.MaxSend != nil {
			send = *ch.MaxSend
		}
		if ch.MaxRecv != nil {
			recv = *ch.MaxRecv
		}
		if err := next.SetDeviceLimits(id, send, recv); err != nil {
			return err
		}
	}
	*c = next
	return nil
}

// SetDevicePaused pauses or resumes a device.
func (c *Config) SetDevicePaused(id proto.DeviceID, paused bool) error {
	return c.changeDevice(id, func(d *Device) { d.Paused = paused })
}

// SetDeviceAddrs sets the addresses a device is dialled at; none means it
// is found by discovery.
func (c *Config) SetDeviceAddrs(id proto.DeviceID, addrs []string) error {
	addrs = slices.Clone(addrs)
	return c.changeDevice(id, func(d *Device) { d.Addrs = addrs })
}

// SetLimits sets the bandwidth limits all devices share, in bytes per
// second; 0 is no limit.
func (c *Config) SetLimits(send, recv int64) error {
	if err := checkLimits("", send, recv); err != nil {
		return err
	}
	return c.apply(func(n *Config) { n.MaxSend, n.MaxRecv = send, recv })
}

// SetDeviceLimits sets the bandwidth limits of the device id, in bytes
// per second; 0 is no limit.
func (c *Config) SetDeviceLimits(id proto.DeviceID, send, recv int64) error {
	if _, ok := c.Device(id); !ok {
		return notFoundf("device %s is not a known device", id)
	}
	if err := checkLimits("device "+id.String()+" ", send, recv); err != nil {
		return err
	}
	return c.changeDevice(id, func(d *Device) { d.MaxSend, d.MaxRecv = send, recv })
}
