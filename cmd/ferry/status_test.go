package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/proto"
	"ferry/web"
)

func TestStatusWatchRedraws(t *testing.T) {
	d := startFakeDaemon(t)
	key, err := web.ReadAPIKey(d.home)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	g := &globals{home: d.home, stdout: &out, stderr: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 550*time.Millisecond)
	defer cancel()
	if code := watchStatus(ctx, g, web.NewClient(d.addr, key), d.addr, 100*time.Millisecond, false); code != exitOK {
		t.Fatalf("watch exited %d", code)
	}
	views := strings.Count(out.String(), "This device ")
	if views < 3 {
		t.Fatalf("%d views in 550 ms at 100 ms, want several:\n%s", views, out.String())
	}
	if strings.Contains(out.String(), clearScreen) {
		t.Fatal("cleared the screen of something that is not a terminal")
	}
	calls := 0
	for _, c := range d.backend.Calls() {
		if c == "Status" {
			calls++
		}
	}
	if calls != views {
		t.Fatalf("%d views from %d status calls", views, calls)
	}
}

func TestProgressFormatting(t *testing.T) {
	for _, tc := range []struct {
		f       web.FolderStatus
		bar     string
		percent string
	}{
		{web.FolderStatus{GlobalBytes: 100, NeedBytes: 100}, "[----------]", "  0%"},
		{web.FolderStatus{GlobalBytes: 100, NeedBytes: 50}, "[#####-----]", " 50%"},
		{web.FolderStatus{GlobalBytes: 1000, NeedBytes: 1}, "[#########-]", " 99%"}, // never 100 % before the end
		{web.FolderStatus{GlobalBytes: 100}, "[##########]", "100%"},
		{web.FolderStatus{GlobalFiles: 4, NeedFiles: 1}, "[#######---]", " 75%"},   // empty files only: count files
		{web.FolderStatus{GlobalBytes: 10, NeedBytes: 20}, "[----------]", "  0%"}, // more needed than exists (a race): clamp
	} {
		if got := progressBar(tc.f, 10); got != tc.bar {
			t.Errorf("%+v: bar %q, want %q", tc.f, got, tc.bar)
		}
		if got := percent(tc.f); got != tc.percent {
			t.Errorf("%+v: percent %q, want %q", tc.f, got, tc.percent)
		}
	}
	for sec, want := range map[float64]string{0.4: "0s", 45: "45s", 200: "3m20s", 7500: "2h05m"} {
		if got := formatETA(sec); got != want {
			t.Errorf("formatETA(%v) = %q, want %q", sec, got, want)
		}
	}
}

// The status says how the internet reaches this device and through which
// device a relayed one is connected.
func TestStatusShowsReach(t *testing.T) {
	relay, far := proto.DeviceID{1}.String(), proto.DeviceID{2}.String()
	st := web.Status{
		Device: web.ThisDevice{ID: proto.DeviceID{9}.String(), Name: "box", External: "203.0.113.7:22110", Mapping: "nat-pmp",
			DHT: &web.DHTStatus{Addr: "0.0.0.0:22110", Nodes: 40, GoodNodes: 31}, Relay: web.RelayStatus{On: true, Streams: 2, Forwarded: 5 << 20}},
		Devices: []web.DeviceStatus{
			{ID: relay, Name: "nas", Connected: true, Address: "198.51.100.4:22110", Via: "dht"},
			{ID: far, Name: "laptop", Connected: true, Address: "relay:X", Via: "relay", Relay: relay},
		},
	}
	var out strings.Builder
	printStatus(&out, st, time.Unix(0, 0))
	for _, want := range []string{
		"external  203.0.113.7:22110 (nat-pmp port mapping)",
		"dht       on at 0.0.0.0:22110, 40 nodes (31 answer)",
		"relay     on: 2 relayed now, 5.0 MiB forwarded",
		"connected 198.51.100.4:22110 (dht)",
		"connected through nas (relay " + relay + ")",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	st.Device = web.ThisDevice{ID: st.Device.ID}
	out.Reset()
	printStatus(&out, st, time.Unix(0, 0))
	for _, want := range []string{"no port mapped", "dht       off", "relay     off"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseHostPorts(t *testing.T) {
	got, err := parseHostPorts(" 10.0.0.1:6881, router.example:6881,[::1]:7 ")
	if err != nil || !slices.Equal(got, []string{"10.0.0.1:6881", "router.example:6881", "[::1]:7"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := parseHostPorts(""); got != nil || err != nil {
		t.Fatalf("empty: %q, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.1", ":6881", "h:0", "h:70000", "a:1,,b:2"} {
		if _, err := parseHostPorts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
