package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/proto"
)

var (
	devA = proto.DeviceID{1}
	devB = proto.DeviceID{2}
)

func TestDefault(t *testing.T) {
	c := Default()
	if c.Version != CurrentVersion || c.GUI != DefaultGUI || c.ScanInterval != 0 {
		t.Fatalf("defaults: %+v", c)
	}
	if len(c.Listen) != 1 || c.Listen[0] != DefaultListen {
		t.Fatalf("listen defaults: %v", c.Listen)
	}
	if c.Name == "" {
		t.Fatal("default name is empty")
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(struct{ D Duration }{Duration(90 * time.Second)})
	if err != nil || string(b) != `{"D":"1m30s"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var v struct{ D Duration }
	if err := json.Unmarshal([]byte(`{"D":"250ms"}`), &v); err != nil || v.D != Duration(250*time.Millisecond) {
		t.Fatalf("unmarshal: %v, %v", v.D, err)
	}
	if err := json.Unmarshal([]byte(`{"D":"ten"}`), &v); err == nil {
		t.Fatal("accepted a duration without a unit")
	}
}

// validConfig returns a config with two devices and two folders under root.
func validConfig(root string) Config {
	return Config{
		Name:   "box",
		Listen: []string{"0.0.0.0:22110", "[::]:22110"},
		GUI:    "127.0.0.1:0",
		Devices: []Device{
			{ID: devA, Name: "a", Addrs: []string{"10.0.0.1:22110", "host.lan:1"}},
			{ID: devB},
		},
		Folders: []Folder{
			{ID: "photos", Path: filepath.Join(root, "photos"), Devices: []proto.DeviceID{devA}},
			{ID: "photos.2", Path: filepath.Join(root, "photos2"), Type: ReceiveOnly},
		},
	}
}

func TestValidate(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name   string
		change func(c *Config)
		kind   error  // nil: valid
		msg    string // substring of the error
	}{
		{"valid", func(c *Config) {}, nil, ""},
		{"folder type default", func(c *Config) { c.Folders[0].Type = "" }, nil, ""},
		{"unclean path is cleaned", func(c *Config) { c.Folders[0].Path += "/x/.." }, nil, ""},
		{"newer version", func(c *Config) { c.Version = CurrentVersion + 1 }, ErrInvalid, "newer"},
		{"negative interval", func(c *Config) { c.ScanInterval = -1 }, ErrInvalid, "negative"},
		{"listen without port", func(c *Config) { c.Listen = []string{"0.0.0.0"} }, ErrInvalid, "listen address"},
		{"gui bad port", func(c *Config) { c.GUI = "127.0.0.1:http" }, ErrInvalid, "gui address"},
		{"device without id", func(c *Config) { c.Devices[1].ID = proto.DeviceID{} }, ErrInvalid, "no ID"},
		{"duplicate device", func(c *Config) { c.Devices[1].ID = devA }, ErrInvalid, "listed twice"},
		{"device addr no host", func(c *Config) { c.Devices[0].Addrs = []string{":22110"} }, ErrInvalid, "missing host"},
		{"device addr port 0", func(c *Config) { c.Devices[0].Addrs = []string{"h:0"} }, ErrInvalid, "port"},
		{"device addr big port", func(c *Config) { c.Devices[0].Addrs = []string{"h:70000"} }, ErrInvalid, "port"},
		{"device addr space", func(c *Config) { c.Devices[0].Addrs = []string{"a b:1"} }, ErrInvalid, "host"},
		{"empty folder id", func(c *Config) { c.Folders[0].ID = "" }, ErrInvalid, "folder ID"},
		{"folder id slash", func(c *Config) { c.Folders[0].ID = "a/b" }, ErrInvalid, "folder ID"},
		{"folder id dots", func(c *Config) { c.Folders[0].ID = ".." }, ErrInvalid, "folder ID"},
		{"folder id too long", func(c *Config) { c.Folders[0].ID = strings.Repeat("x", 65) }, ErrInvalid, "folder ID"},
		{"duplicate folder", func(c *Config) { c.Folders[1].ID = "photos" }, ErrInvalid, "listed twice"},
		{"relative path", func(c *Config) { c.Folders[0].Path = "photos" }, ErrInvalid, "not absolute"},
		{"empty path", func(c *Config) { c.Folders[0].Path = "" }, ErrInvalid, "not absolute"},
		{"same path", func(c *Config) { c.Folders[1].Path = c.Folders[0].Path }, ErrInvalid, "overlap"},
		{"nested", func(c *Config) { c.Folders[1].Path = filepath.Join(c.Folders[0].Path, "sub") }, ErrInvalid, "overlap"},
		{"parent", func(c *Config) { c.Folders[1].Path = root }, ErrInvalid, "overlap"},
		{"bad type", func(c *Config) { c.Folders[0].Type = "mirror" }, ErrInvalid, "mirror"},
		{"unknown device", func(c *Config) { c.Folders[1].Devices = []proto.DeviceID{{9}} }, ErrNotFound, "not a known device"},
		{"device twice", func(c *Config) { c.Folders[1].Devices = []proto.DeviceID{devA, devA} }, ErrInvalid, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(root)
			tt.change(&c)
			err := c.Validate()
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.Folders[0].Type != SendReceive || c.Folders[0].Path != filepath.Join(root, "photos") {
					t.Fatalf("defaults not filled: %+v", c.Folders[0])
				}
				return
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want %v containing %q", err, tt.kind, tt.msg)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, "a")
	tests := []struct {
		path string
		want bool
	}{
		{a, true},
		{filepath.Join(a, "b"), true},
		{filepath.Join(root, "ab"), false},
		{filepath.Join(root, "..a"), false},
		{root, false},
	}
	for _, tt := range tests {
		if got := within(a, tt.path); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", a, tt.path, got, tt.want)
		}
	}
}

func TestClone(t *testing.T) {
	c := validConfig(t.TempDir())
	d := c.Clone()
	d.Listen[0] = "changed:1"
	d.Devices[0].Addrs[0] = "changed:1"
	d.Folders[0].Devices[0] = devB
	if c.Listen[0] == "changed:1" || c.Devices[0].Addrs[0] == "changed:1" || c.Folders[0].Devices[0] != devA {
		t.Fatal("clone shares memory with the original")
	}
}

func TestIgnoreDevice(t *testing.T) {
	c := Default()
	stranger, friend := proto.DeviceID{1}, proto.DeviceID{2}
	if err := c.AddDevice(Device{ID: friend}); err != nil {
		t.Fatal(err)
	}
	if err := c.IgnoreDevice(friend); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ignoring a trusted device: %v, want ErrInvalid", err)
	}
	for range 2 { // ignoring twice changes nothing
		if err := c.IgnoreDevice(stranger); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.Ignored) != 1 || c.Ignored[0] != stranger {
		t.Fatalf("ignored = %v", c.Ignored)
	}
	clone := c.Clone()
	clone.Ignored[0] = friend
	if c.Ignored[0] != stranger {
		t.Fatal("a clone shares the ignored list")
	}
	if err := c.AddDevice(Device{ID: stranger}); err != nil {
		t.Fatal(err)
	}
	if len(c.Ignored) != 0 {
		t.Fatalf("trusting a device left it ignored: %v", c.Ignored)
	}
}

func TestCheckHomeApart(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	for _, d := range []string{home, filepath.Join(base, "docs"), filepath.Join(home, "inside")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(base, "link-to-base")
	if err := os.Symlink(base, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{filepath.Join(base, "docs"), true},
		{base, false},                          // holds the home
		{home, false},                          // is the home
		{filepath.Join(home, "inside"), false}, // inside the home
		{link, false},                          // holds the home through a symlink
		{filepath.Join(base, "home-other"), true},
	} {
		err := CheckHomeApart(tc.path, home)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckHomeApart(%s) = %v, want ok %t", tc.path, err, tc.ok)
		}
	}
}

func TestDHTAndRelaySettings(t *testing.T) {
	c := validConfig(t.TempDir())
	if c.DHTBootstrap() != nil || c.RelayConfig() != DefaultRelay {
		t.Fatalf("defaults: bootstrap %v, relay %+v", c.DHTBootstrap(), c.RelayConfig())
	}
	c.DHT = &DHT{Bootstrap: []string{"10.0.0.1:6881"}}
	c.Relay = &Relay{Off: true}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if r := c.RelayConfig(); !r.Off || r.BudgetPerDay != DefaultRelay.BudgetPerDay {
		t.Fatalf("relay %+v: want off with the default budget", r)
	}
	d := c.Clone()
	d.DHT.Bootstrap[0] = "changed:1"
	d.Relay.Off = false
	if c.DHT.Bootstrap[0] != "10.0.0.1:6881" || !c.Relay.Off {
		t.Fatal("clone shares the dht or relay settings")
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.DHT = &DHT{Bootstrap: []string{"no-port"}} },
		func(c *Config) { c.DHT = &DHT{Bootstrap: []string{":6881"}} },
		func(c *Config) { c.Relay = &Relay{BudgetPerDay: -1} },
	} {
		c := validConfig(t.TempDir())
		bad(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v %+v: %v, want ErrInvalid", c.DHT, c.Relay, err)
		}
	}
}
