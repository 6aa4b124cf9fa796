package portmap

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return epoch }

func natpmpConfig(f *fakeNATPMP) Config {
	return Config{
		Port:          22000,
		Now:           fixedNow,
		Timeout:       time.Second,
		NATPMPGateway: f.addr().Addr(),
		NATPMPPort:    int(f.addr().Port()),
		DisableUPnP:   true,
	}
}

func upnpConfig(f *fakeIGD) Config {
	return Config{
		Port:          22000,
		Now:           fixedNow,
		Timeout:       time.Second,
		UPnPRootURL:   f.rootURL(),
		DisableNATPMP: true,
	}
}

func TestNATPMPMap(t *testing.T) {
	f := newFakeNATPMP(t)
	f.set(func(f *fakeNATPMP) { f.portBase, f.maxLife = 1000, 600 })
	m, err := Map(t.Context(), natpmpConfig(f))
	if err != nil {
		t.Fatal(err)
	}
	want := netip.MustParseAddrPort("198.51.100.9:23000")
	if m.Protocol != "nat-pmp" || m.External != want || m.Lifetime != 600*time.Second || !m.Expires.Equal(epoch.Add(600*time.Second)) {
		t.Fatalf("Map = %+v, want nat-pmp %v for 600s", m, want)
	}
	if got := f.seen(); len(got) != 1 || got[0] != (natpmpRequest{22000, 22000, 3600}) {
		t.Fatalf("requests = %+v, want one for port 22000 lasting 3600s", got)
	}
	if err := Unmap(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if got := f.seen(); len(got) != 2 || got[1] != (natpmpRequest{22000, 0, 0}) {
		t.Fatalf("requests after Unmap = %+v, want a deletion of port 22000", got)
	}
}

func TestNATPMPFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*fakeNATPMP)
		want string
	}{
		{"silent", func(f *fakeNATPMP) { f.silent = true }, "no answer within"},
		{"refused", func(f *fakeNATPMP) { f.result = 2 }, "not authorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNATPMP(t)
			f.set(tc.set)
			cfg := natpmpConfig(f)
			cfg.Timeout = 400 * time.Millisecond
			start := time.Now()
			_, err := Map(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Map error = %v, want %q", err, tc.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Map took %v", d)
			}
		})
	}
}

func TestUPnPMap(t *testing.T) {
	f := newFakeIGD(t)
	m, err := Map(t.Context(), upnpConfig(f))
	if err != nil {
		t.Fatal(err)
	}
	want := netip.MustParseAddrPort("203.0.113.7:22000")
	if m.Protocol != "upnp" || m.External != want || m.Lifetime != time.Hour || !m.Expires.Equal(epoch.Add(time.Hour)) {
		t.Fatalf("Map = %+v, want upnp %v for 1h", m, want)
	}
	adds := f.seen("AddPortMapping")
	if len(adds) != 1 {
		t.Fatalf("AddPortMapping calls = %+v", adds)
	}
	for k, v := range map[string]string{
		"NewExternalPort": "22000", "NewInternalPort": "22000", "NewProtocol": "TCP",
		"NewInternalClient": "127.0.0.1", "NewEnabled": "1", "NewLeaseDuration": "3600",
	} {
		if adds[0].args[k] != v {
			t.Errorf("AddPortMapping %s = %q, want %q", k, adds[0].args[k], v)
		}
	}
	if err := Unmap(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	dels := f.seen("DeletePortMapping")
	if len(dels) != 1 || dels[0].args["NewExternalPort"] != "22000" || dels[0].args["NewProtocol"] != "TCP" {
		t.Fatalf("DeletePortMapping calls = %+v", dels)
	}
}

func TestUPnPFault(t *testing.T) {
	f := newFakeIGD(t)
	f.set(func(f *fakeIGD) { f.fault = 718 })
	_, err := Map(t.Context(), upnpConfig(f))
	if err == nil || !strings.Contains(err.Error(), "UPnP error 718") || !strings.Contains(err.Error(), "ConflictInMappingEntry") {
		t.Fatalf("Map error = %v, want UPnP error 718", err)
	}
}

func TestUPnPNoAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	cfg := Config{Port: 22000, Timeout: 300 * time.Millisecond, UPnPRootURL: srv.URL + "/root.xml", DisableNATPMP: true}
	start := time.Now()
	if _, err := Map(t.Context(), cfg); err == nil {
		t.Fatal("Map succeeded against a router that does not answer")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Map took %v", d)
	}
}

func TestUPnPBoundsDescription(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device><friendlyName>`))
		w.Write([]byte(strings.Repeat("x", 2*maxUPnPBody)))
		w.Write([]byte(`</friendlyName></device></root>`))
	}))
	defer srv.Close()
	cfg := Config{Port: 22000, UPnPRootURL: srv.URL, DisableNATPMP: true}
	if _, err := Map(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "device description") {
		t.Fatalf("Map error = %v, want the oversized description refused", err)
	}
}

func TestMapBothProtocols(t *testing.T) {
	pmp, igd := newFakeNATPMP(t), newFakeIGD(t)
	cfg := natpmpConfig(pmp)
	cfg.DisableUPnP, cfg.UPnPRootURL = false, igd.rootURL()
	m, err := Map(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Protocol != "nat-pmp" && m.Protocol != "upnp" {
		t.Fatalf("Map = %+v", m)
	}
	// The protocol that lost holds no mapping.
	var maps, deletes int
	for _, r := range pmp.seen() {
		if r.lifetime == 0 {
			deletes++
		} else {
			maps++
		}
	}
	upnpMaps, upnpDeletes := len(igd.seen("AddPortMapping")), len(igd.seen("DeletePortMapping"))
	if m.Protocol == "upnp" {
		upnpMaps--
	} else {
		maps--
	}
	if maps > deletes || upnpMaps > upnpDeletes {
		t.Fatalf("left mappings behind: nat-pmp %d made %d deleted, upnp %d made %d deleted",
			maps, deletes, upnpMaps, upnpDeletes)
	}
}

// A router that made a mapping but whose answer never came, because the
// other protocol won meanwhile, is asked to delete it.
func TestMapUndoesUnansweredLoser(t *testing.T) {
	pmp, igd := newFakeNATPMP(t), newFakeIGD(t)
	igd.set(func(f *fakeIGD) { f.hold = "AddPortMapping" })
	pmp.set(func(f *fakeNATPMP) { f.gate = igd.holding })
	cfg := natpmpConfig(pmp)
	cfg.DisableUPnP, cfg.UPnPRootURL = false, igd.rootURL()
	m, err := Map(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Protocol != "nat-pmp" {
		t.Fatalf("Map = %+v, want nat-pmp (the IGD never answers)", m)
	}
	adds, dels := igd.seen("AddPortMapping"), igd.seen("DeletePortMapping")
	if len(adds) != 1 || len(dels) != 1 || dels[0].args["NewExternalPort"] != adds[0].args["NewExternalPort"] {
		t.Fatalf("IGD saw %d adds and deletes %+v, want the unanswered add deleted", len(adds), dels)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Port: 0}, {Port: 70000}, {Port: 1, DisableNATPMP: true, DisableUPnP: true}, {Port: 1, NATPMPPort: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
	c := Config{Port: 1, Lifetime: 1500 * time.Millisecond}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Lifetime != 2*time.Second || c.Timeout != 3*time.Second || c.Discovery != 2*time.Second || c.NATPMPPort != 5351 {
		t.Fatalf("defaults: %+v", c)
	}
	// A search shorter than 2 s could never find a router.
	c = Config{Port: 1, Discovery: time.Second}
	if err := c.Validate(); err != nil || c.Discovery != 2*time.Second {
		t.Fatalf("a 1 s search: %v, %v", c.Discovery, err)
	}
}

func TestParseRoutes(t *testing.T) {
	const routes = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n" +
		"eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n" +
		"eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\n"
	got, err := parseRoutes(strings.NewReader(routes))
	if err != nil || got != netip.MustParseAddr("192.168.1.1") {
		t.Fatalf("parseRoutes = %v, %v; want 192.168.1.1", got, err)
	}
	if _, err := parseRoutes(strings.NewReader(routes[:strings.LastIndex(routes[:len(routes)-1], "\n")+1])); err == nil {
		t.Fatal("parseRoutes found a default route where there is none")
	}
}
