package config

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"ferry/proto"
)

func TestParseRate(t *testing.T) {
	good := map[string]int64{
		"0":        0,
		"0.0":      0,
		"500":      500,
		" 500 ":    500,
		"500B":     500,
		"500B/s":   500,
		"500/s":    500,
		"500K":     500 << 10,
		"500k":     500 << 10,
		"500KB":    500 << 10,
		"500KiB/s": 500 << 10,
		"2M":       2 << 20,
		"2 MB/s":   2 << 20,
		"1.5M":     3 << 19,
		"0.5K":     512,
		"1G":       1 << 30,
		"1.5":      2,
		"1024G":    MaxRate,
	}
	for in, want := range good {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":        "not a number",
		"-1":      "not a number",
		"-1M":     "not a number",
		"1e6":     "not a number",
		"0x10":    "not a number",
		"1_000":   "not a number",
		"inf":     "not a number",
		"NaN":     "not a number",
		"K":       "not a number",
		"1.":      "not a number",
		".5":      "not a number",
		"1.2.3":   "not a number",
		"500i":    "not a number",
		"5T":      "not a number",
		"10Mb":    "not a number",
		"1025G":   "above the largest limit",
		"0.0001K": "below 1 byte per second",
		"0.4":     "below 1 byte per second",
	}
	for in, msg := range bad {
		_, err := ParseRate(in)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseRate(%q) error %v, want one saying %q", in, err, msg)
		}
	}
}

func TestFormatRate(t *testing.T) {
	for r, want := range map[int64]string{
		0: "off", 500: "500 B/s", 1024: "1 KiB/s", 1_000_000: "976.56 KiB/s", 3 << 19: "1.5 MiB/s", 1 << 30: "1 GiB/s",
	} {
		if got := FormatRate(r); got != want {
			t.Errorf("FormatRate(%d) = %q, want %q", r, got, want)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"0", "500", "500K", "1.5M", "2MB/s", "1G", "-1", "1e9", "9999999999999G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRate(%q) error %v is not ErrInvalid", s, err)
			}
			return
		}
		if r < 0 || r > MaxRate {
			t.Fatalf("ParseRate(%q) = %d, outside 0..MaxRate", s, r)
		}
		if back, err := ParseRate(strconv.FormatInt(r, 10)); err != nil || back != r {
			t.Fatalf("ParseRate(%d) = %d, %v", r, back, err)
		}
	})
}

func TestSetLimits(t *testing.T) {
	c := Default()
	must(t, c.SetLimits(1<<20, 2<<20))
	if c.MaxSend != 1<<20 || c.MaxRecv != 2<<20 {
		t.Fatalf("limits = %d, %d", c.MaxSend, c.MaxRecv)
	}
	for _, l := range [][2]int64{{-1, 0}, {0, -5}, {MaxRate + 1, 0}} {
		if err := c.SetLimits(l[0], l[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetLimits(%d, %d) = %v, want ErrInvalid", l[0], l[1], err)
		}
	}
	if c.MaxSend != 1<<20 || c.MaxRecv != 2<<20 {
		t.Fatalf("a refused change changed the limits: %d, %d", c.MaxSend, c.MaxRecv)
	}
	must(t, c.SetLimits(0, 0))
	if c.MaxSend != 0 || c.MaxRecv != 0 {
		t.Fatalf("limits not cleared: %d, %d", c.MaxSend, c.MaxRecv)
	}
}

func TestSetDeviceLimits(t *testing.T) {
	c := Default()
	must(t, c.AddDevice(Device{ID: devA}))
	must(t, c.AddDevice(Device{ID: devB}))
	must(t, c.SetDeviceLimits(devA, 1_000_000, 0))
	if d, _ := c.Device(devA); d.MaxSend != 1_000_000 || d.MaxRecv != 0 {
		t.Fatalf("device A = %+v", d)
	}
	if d, _ := c.Device(devB); d.MaxSend != 0 || d.MaxRecv != 0 {
		t.Fatalf("device B changed: %+v", d)
	}
	if err := c.SetDeviceLimits(devA, 0, -1); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "maxRecv -1 is negative") {
		t.Fatalf("negative limit: %v", err)
	}
	if err := c.SetDeviceLimits(proto.DeviceID{3}, 1, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if d, _ := c.Device(devA); d.MaxSend != 1_000_000 {
		t.Fatalf("a refused change changed device A: %+v", d)
	}
}

func TestLimitsValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"global send": {MaxSend: -1},
		"global recv": {MaxRecv: MaxRate + 1},
		"device send": {Devices: []Device{{ID: devA, MaxSend: -1}}},
		"device recv": {Devices: []Device{{ID: devA, MaxRecv: -1}}},
	} {
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
		}
	}
	c, err := decode([]byte(`{"maxSend":1000,"maxRecv":2000,"limitLAN":true,"devices":[{"id":"` + devA.String() + `","maxSend":3,"maxRecv":4}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Devices[0]; c.MaxSend != 1000 || c.MaxRecv != 2000 || !c.LimitLAN || d.MaxSend != 3 || d.MaxRecv != 4 {
		t.Fatalf("decoded %+v", c)
	}
}
