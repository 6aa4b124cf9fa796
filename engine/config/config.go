package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"ferry/index/history"
	"ferry/proto"
)

// Defaults and limits.
const (
	// CurrentVersion is the config format this package writes.
	CurrentVersion = 1
	// FileName is the config file's name inside the home directory.
	FileName = "config.json"
	// DefaultListen is where the daemon accepts device connections: every
	// address, IPv4 and IPv6.
	DefaultListen = ":22110"
	// DefaultGUI is where the local API and UI listen.
	DefaultGUI = "127.0.0.1:8484"
	// WatchedScanInterval is the period of full rescans of a folder whose
	// changes are watched: the rescan only catches what the watcher missed.
	WatchedScanInterval = Duration(time.Hour)
	// UnwatchedScanInterval is the period of full rescans of a folder that
	// cannot be watched: scans are then the only way to find changes.
	UnwatchedScanInterval = Duration(10 * time.Second)
	// DefaultTombstoneLifetime is 15 months.
	DefaultTombstoneLifetime = Duration(456 * 24 * time.Hour)
	// MaxFolderIDLen is the longest folder ID allowed.
	MaxFolderIDLen = 64
	// MaxNameLen is the longest device name or folder label allowed, in
	// bytes.
	MaxNameLen = 256
)

// Config is the daemon's persistent configuration.
type Config struct {
	Version      int      `json:"version"`
	Name         string   `json:"name"`                   // device name, default os.Hostname()
	Listen       []string `json:"listen"`                 // default [DefaultListen]
	GUI          string   `json:"gui"`                    // default DefaultGUI
	ScanInterval Duration `json:"scanInterval,omitempty"` // 0 = automatic: WatchedScanInterval or UnwatchedScanInterval
	Devices      []Device `json:"devices"`
	Folders      []Folder `json:"folders"`
	// TombstoneLifetime is how long a deletion record is kept once every
	// device has it; 0 means DefaultTombstoneLifetime, negative for ever.
	TombstoneLifetime Duration `json:"tombstoneLifetime,omitempty"`
	// MinFree is the free space pulls leave on a folder's disk and on the
	// home's; nil means DefaultMinFree.
	MinFree *MinFree `json:"minFree,omitempty"`
	// Ignored are unknown devices whose connection attempts are not
	// listed as pending.
	Ignored []proto.DeviceID `json:"ignoredDevices,omitempty"`
	// DHT configures finding devices over the internet; nil means the
	// defaults (on, the public Mainline routers as bootstrap nodes).
	DHT *DHT `json:"dht,omitempty"`
	// Relay configures forwarding connections between two trusted
	// devices that cannot reach each other; nil means DefaultRelay.
	Relay *Relay `json:"relay,omitempty"`
	// MaxSend and MaxRecv limit, in bytes per second, what all devices
	// together send and receive; 0 is no limit. Connections to addresses
	// on the local network are exempt unless LimitLAN is set.
	MaxSend  int64 `json:"maxSend,omitempty"`
	MaxRecv  int64 `json:"maxRecv,omitempty"`
	LimitLAN bool  `json:"limitLAN,omitempty"`
}

// DHT configures the Mainline DHT node of the daemon.
type DHT struct {
	// Bootstrap lists host:port of the nodes joined through when the
	// saved routing table is empty; empty means the public routers.
	Bootstrap []string `json:"bootstrap,omitempty"`
}

// Relay configures the relay this device offers to trusted devices.
type Relay struct {
	// Off stops this device relaying for others; it still uses relays.
	Off bool `json:"off,omitempty"`
	// BudgetPerDay is how many bytes it forwards for others in a rolling
	// day, both directions together; 0 means DefaultRelay's.
	BudgetPerDay int64 `json:"budgetPerDay,omitempty"`
}

// DefaultRelay relays up to 4 GiB a day.
var DefaultRelay = Relay{BudgetPerDay: 4 << 30}

// RelayConfig returns the relay settings with the defaults filled in.
func (c *Config) RelayConfig() Relay {
	r := DefaultRelay
	if c.Relay != nil {
		r.Off = c.Relay.Off
		if c.Relay.BudgetPerDay > 0 {
			r.BudgetPerDay = c.Relay.BudgetPerDay
		}
	}
	return r
}

// DHTBootstrap returns the configured bootstrap nodes, nil for the
// public ones.
func (c *Config) DHTBootstrap() []string {
	if c.DHT == nil || len(c.DHT.Bootstrap) == 0 {
		return nil
	}
	return c.DHT.Bootstrap
}

// Device is a trusted device.
type Device struct {
	ID    proto.DeviceID `json:"id"`
	Name  string         `json:"name,omitempty"`
	Addrs []string       `json:"addrs,omitempty"` // host:port; empty means discover
	// Paused devices are neither dialled nor let in; what they share
	// waits until they are resumed.
	Paused bool `json:"paused,omitempty"`
	// MaxSend and MaxRecv limit, in bytes per second, what is sent to and
	// received from this device, on the local network too; 0 is no limit.
	MaxSend int64 `json:"maxSend,omitempty"`
	MaxRecv int64 `json:"maxRecv,omitempty"`
}

// Folder is a synced folder and the devices it is shared with.
type Folder struct {
	ID           string           `json:"id"`
	Path         string           `json:"path"`            // absolute and clean
	Label        string           `json:"label,omitempty"` // shown instead of the ID; may be empty
	Type         FolderType       `json:"type"`
	Devices      []proto.DeviceID `json:"devices,omitempty"`
	ScanInterval Duration         `json:"scanInterval,omitempty"` // 0 = the global interval
	// DeleteGuard holds mass deletions for confirmation; nil means
	// DefaultDeleteGuard, {"files":0,"percent":0} turns it off.
	DeleteGuard *DeleteGuard `json:"deleteGuard,omitempty"`
	// Keep says which old versions this device keeps of the folder's
	// files; the zero Policy is the staggered default.
	Keep history.Policy `json:"keep,omitzero"`
	// Paused folders are neither scanned nor synced; the index and the
	// files stay as they are until the folder is resumed.
	Paused bool `json:"paused,omitempty"`
}

// MinFree is how much free space to keep on a disk: Percent of its size or
// Bytes, whichever is smaller (a zero field does not count).
type MinFree struct {
	Percent float64 `json:"percent"`
	Bytes   int64   `json:"bytes"`
}

// DefaultMinFree keeps 1 % or 1 GiB free, whichever is smaller.
var DefaultMinFree = MinFree{Percent: 1, Bytes: 1 << 30}

// Keep returns the bytes to keep free on a disk of total bytes.
func (m MinFree) Keep(total uint64) int64 {
	p := int64(float64(total) * m.Percent / 100)
	switch {
	case m.Percent <= 0:
		return max(m.Bytes, 0)
	case m.Bytes <= 0:
		return p
	}
	return min(p, m.Bytes)
}

// Tombstones returns how long deletion records are kept; 0 is for ever.
func (c *Config) Tombstones() time.Duration {
	switch {
	case c.TombstoneLifetime == 0:
		return time.Duration(DefaultTombstoneLifetime)
	case c.TombstoneLifetime < 0:
		return 0
	}
	return time.Duration(c.TombstoneLifetime)
}

// MinFreeSpace returns the free space rule in force.
func (c *Config) MinFreeSpace() MinFree {
	if c.MinFree == nil {
		return DefaultMinFree
	}
	return *c.MinFree
}

// DeleteGuard is the mass-delete rule of a folder: a scan or a peer that
// removes at least Files files and at least Percent percent of the folder's
// files at once, or all of them, is held until the user confirms.
type DeleteGuard struct {
	Files   int `json:"files"`
	Percent int `json:"percent"`
}

// DefaultDeleteGuard is the rule of a folder that sets none.
var DefaultDeleteGuard = DeleteGuard{Files: 50, Percent: 25}

// Guard returns the folder's mass-delete rule.
func (f Folder) Guard() DeleteGuard {
	if f.DeleteGuard == nil {
		return DefaultDeleteGuard
	}
	return *f.DeleteGuard
}

// FolderType says which way changes flow for a folder.
type FolderType string

// Folder types.
const (
	SendReceive FolderType = "send-receive" // the default
	SendOnly    FolderType = "send-only"    // this device is the master
	ReceiveOnly FolderType = "receive-only" // a backup target
)

// ParseFolderType accepts the three folder type names; "" means SendReceive.
func ParseFolderType(s string) (FolderType, error) {
	switch t := FolderType(s); t {
	case "":
		return SendReceive, nil
	case SendReceive, SendOnly, ReceiveOnly:
		return t, nil
	}
	return "", invalidf("folder type %q is unknown; use send-receive, send-only or receive-only", s)
}

// Default returns the configuration of a new device.
func Default() Config {
	var c Config
	c.fillDefaults()
	return c
}

// Validate fills in defaults and checks that c is usable.
func (c *Config) Validate() error {
	c.fillDefaults()
	if c.Version > CurrentVersion {
		return invalidf("config version %d is newer than this ferry understands (%d); upgrade ferry", c.Version, CurrentVersion)
	}
	if c.ScanInterval < 0 {
		return invalidf("scanInterval %s is negative", c.ScanInterval)
	}
	if m := c.MinFree; m != nil && (m.Percent < 0 || m.Percent > 100 || m.Bytes < 0) {
		return invalidf("minFree wants percent from 0 to 100 and bytes >= 0")
	}
	for _, a := range c.Listen {
		if err := checkAddr(a, false); err != nil {
			return invalidf("listen address %q: %v", a, err)
		}
	}
	if err := checkAddr(c.GUI, false); err != nil {
		return invalidf("gui address %q: %v", c.GUI, err)
	}
	if c.DHT != nil {
		for _, a := range c.DHT.Bootstrap {
			if err := checkAddr(a, true); err != nil {
				return invalidf("dht bootstrap address %q: %v", a, err)
			}
		}
	}
	if c.Relay != nil && c.Relay.BudgetPerDay < 0 {
		return invalidf("relay budgetPerDay %d is negative", c.Relay.BudgetPerDay)
	}
	if err := checkLimits("", c.MaxSend, c.MaxRecv); err != nil {
		return err
	}
	if err := c.validateDevices(); err != nil {
		return err
	}
	return c.validateFolders()
}

func (c *Config) fillDefaults() {
	if c.Version == 0 {
		c.Version = CurrentVersion
	}
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		c.Name = defaultName()
	}
	if len(c.Listen) == 0 {
		c.Listen = []string{DefaultListen}
	}
	if c.GUI == "" {
		c.GUI = DefaultGUI
	}
	for i := range c.Folders {
		f := &c.Folders[i]
		if f.Type == "" {
			f.Type = SendReceive
		}
		if f.Path != "" {
			f.Path = filepath.Clean(f.Path)
		}
	}
}

func defaultName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "ferry"
}

func (c *Config) validateDevices() error {
	seen := make(map[proto.DeviceID]bool, len(c.Devices))
	for _, d := range c.Devices {
		if d.ID.IsZero() {
			return invalidf("a device has no ID")
		}
		if seen[d.ID] {
			return invalidf("device %s is listed twice", d.ID)
		}
		seen[d.ID] = true
		if err := checkLimits("device "+d.ID.String()+" ", d.MaxSend, d.MaxRecv); err != nil {
			return err
		}
		for _, a := range d.Addrs {
			if err := checkAddr(a, true); err != nil {
				return invalidf("device %s address %q: %v", d.ID, a, err)
			}
		}
	}
	return nil
}

func (c *Config) validateFolders() error {
	seen := make(map[string]bool, len(c.Folders))
	for i, f := range c.Folders {
		if err := c.validateFolder(f); err != nil {
			return err
		}
		if seen[f.ID] {
			return invalidf("folder %q is listed twice", f.ID)
		}
		seen[f.ID] = true
		for _, g := range c.Folders[:i] {
			if within(g.Path, f.Path) || within(f.Path, g.Path) {
				return invalidf("folder %q (%s) and folder %q (%s) overlap; a folder cannot be inside another", g.ID, g.Path, f.ID, f.Path)
			}
		}
	}
	return nil
}

func (c *Config) validateFolder(f Folder) error {
	if err := CheckFolderID(f.ID); err != nil {
		return err
	}
	if !filepath.IsAbs(f.Path) {
		return invalidf("folder %q path %q is not absolute", f.ID, f.Path)
	}
	if _, err := ParseFolderType(string(f.Type)); err != nil {
		return invalidf("folder %q: %v", f.ID, err)
	}
	if f.ScanInterval < 0 {
		return invalidf("folder %q scanInterval %s is negative", f.ID, f.ScanInterval)
	}
	if err := checkName(f.Label); err != nil {
		return invalidf("folder %q label: %v", f.ID, err)
	}
	if g := f.DeleteGuard; g != nil && (g.Files < 0 || g.Percent < 0 || g.Percent > 100) {
		return invalidf("folder %q deleteGuard wants files >= 0 and percent from 0 to 100", f.ID)
	}
	shared := make(map[proto.DeviceID]bool, len(f.Devices))
	for _, id := range f.Devices {
		if _, ok := c.Device(id); !ok {
			return notFoundf("folder %q is shared with device %s, which is not a known device; add it first", f.ID, id)
		}
		if shared[id] {
			return invalidf("folder %q lists device %s twice", f.ID, id)
		}
		shared[id] = true
	}
	return nil
}

// checkName reports whether s can be a device name or folder label: valid
// UTF-8 of at most MaxNameLen bytes without control characters.
func checkName(s string) error {
	if len(s) > MaxNameLen {
		return fmt.Errorf("longer than %d bytes", MaxNameLen)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return fmt.Errorf("control character %q", s[i:i+1])
	}
	return nil
}

var folderIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// CheckFolderID reports whether id is a valid folder ID: 1 to 64 letters,
// digits, '.', '_' or '-', and not only dots.
func CheckFolderID(id string) error {
	if len(id) == 0 || len(id) > MaxFolderIDLen || !folderIDPattern.MatchString(id) || strings.Trim(id, ".") == "" {
		return invalidf("folder ID %q is not valid; use 1-%d letters, digits, '.', '_' or '-'", id, MaxFolderIDLen)
	}
	return nil
}

// checkAddr checks a host:port address. Listen addresses may omit the host
// and use port 0; device addresses need both.
func checkAddr(addr string, dial bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port")
	}
	if strings.ContainsAny(host, " \t\r\n/") {
		return fmt.Errorf("host %q is not a host name or IP address", host)
	}
	if dial && host == "" {
		return fmt.Errorf("missing host")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (dial && n == 0) {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// within reports whether path is parent or inside it. Both are clean and
// absolute.
func within(parent, path string) bool {
	rel, err := filepath.Rel(parent, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

// Device returns the trusted device with the given ID.
func (c *Config) Device(id proto.DeviceID) (Device, bool) {
	for _, d := range c.Devices {
		if d.ID == id {
			return d, true
		}
	}
	return Device{}, false
}

// Folder returns the folder with the given ID.
func (c *Config) Folder(id string) (Folder, bool) {
	for _, f := range c.Folders {
		if f.ID == id {
			return f, true
		}
	}
	return Folder{}, false
}

// Clone returns a deep copy of c.
func (c *Config) Clone() Config {
	out := *c
	out.Listen = slices.Clone(c.Listen)
	out.Devices = slices.Clone(c.Devices)
	for i := range out.Devices {
		out.Devices[i].Addrs = slices.Clone(out.Devices[i].Addrs)
	}
	out.Ignored = slices.Clone(c.Ignored)
	if c.MinFree != nil {
		m := *c.MinFree
		out.MinFree = &m
	}
	if c.DHT != nil {
		d := DHT{Bootstrap: slices.Clone(c.DHT.Bootstrap)}
		out.DHT = &d
	}
	if c.Relay != nil {
		r := *c.Relay
		out.Relay = &r
	}
	out.Folders = slices.Clone(c.Folders)
	for i := range out.Folders {
		out.Folders[i].Devices = slices.Clone(out.Folders[i].Devices)
		if g := out.Folders[i].DeleteGuard; g != nil {
			c := *g
			out.Folders[i].DeleteGuard = &c
		}
	}
	return out
}

// CheckHomeApart refuses a folder at path that holds the home directory or
// lies inside it: syncing it would send the device's key and API key to
// other devices, or sync ferry's own index. Both paths are compared as
// given and with symlinks resolved.
func CheckHomeApart(path, home string) error {
	if home == "" {
		return nil
	}
	absHome, err := filepath.Abs(home)
	if err != nil {
		return invalidf("home %q: %v", home, err)
	}
	pairs := [][2]string{{filepath.Clean(path), absHome}}
	rp, err1 := filepath.EvalSymlinks(path)
	rh, err2 := filepath.EvalSymlinks(absHome)
	if err1 == nil && err2 == nil {
		pairs = append(pairs, [2]string{rp, rh})
	}
	for _, p := range pairs {
		switch {
		case within(p[0], p[1]):
			return invalidf("folder %s holds ferry's home %s, whose keys must never be synced; choose a folder that does not contain it", path, home)
		case within(p[1], p[0]):
			return invalidf("folder %s is inside ferry's home %s; choose a folder outside it", path, home)
		}
	}
	return nil
}
