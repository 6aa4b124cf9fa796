package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"ferry/engine/config"
	"ferry/proto"
	"ferry/web"
)

// idHint follows a rejected device ID.
const idHint = "Check the ID: `ferry id` prints it on the other device"

var (
	deviceAddUsage = usage{
		name:     "device add",
		synopsis: "ID [--name NAME] [--addr HOST:PORT]...",
		help:     "Trust the device with this ID. Without --addr its address is discovered on the local network.",
	}
	deviceListUsage = usage{
		name: "device list", synopsis: "[--json]",
		help: "List the trusted devices: ID, name, addresses, and whether each is paused. --json prints them as in the config file.",
	}
	deviceRemoveUsage = usage{name: "device remove", synopsis: "ID", help: "Forget a device and stop sharing folders with it."}
	deviceIgnoreUsage = usage{name: "device ignore", synopsis: "ID", help: "Stop listing an unknown device that tries to connect as pending."}
)

func runDevice(g *globals, args []string) int {
	return group{name: "device", subs: []subcommand{
		{deviceAddUsage, runDeviceAdd},
		{deviceListUsage, runDeviceList},
		{deviceRemoveUsage, runDeviceRemove},
		{deviceIgnoreUsage, runDeviceIgnore},
		{deviceRenameUsage, runDeviceRename},
		{deviceSetUsage, runDeviceSet},
		{devicePauseUsage, runDevicePause},
		{deviceResumeUsage, runDeviceResume},
	}}.run(g, args)
}

func runDeviceAdd(g *globals, args []string) int {
	fs := newFlagSet("device add")
	name := fs.String("name", "", "a `NAME` for the device")
	var addrs stringList
	fs.Var(&addrs, "addr", "an address where the device listens, `HOST:PORT`; repeat for more")
	pos, code, ok := g.parse(deviceAddUsage, fs, args, 1, 1)
	if !ok {
		return code
	}
	id, err := proto.ParseDeviceID(pos[0])
	if err != nil {
		return g.fail("device add", err, idHint)
	}
	self, err := deviceID(g.home)
	if err != nil {
		return g.fail("device add", err, "")
	}
	if id == self {
		return g.fail("device add", errors.New("that is this device's own ID"), "Run this on the other device, or give it the other device's ID")
	}
	ctx, cancel := callContext()
	defer cancel()
	err = g.change(
		func(c *web.Client) error {
			return c.AddDevice(ctx, web.DeviceRequest{ID: id.String(), Name: *name, Addrs: addrs})
		},
		func(cfg *config.Config) error {
			return cfg.AddDevice(config.Device{ID: id, Name: *name, Addrs: addrs})
		})
	if err != nil {
		return g.fail("device add", err, "")
	}
	return exitOK
}

func runDeviceList(g *globals, args []string) int {
	fs := newFlagSet("device list")
	asJSON := fs.Bool("json", false, "print JSON: the devices as in the config file")
	if _, code, ok := g.parse(deviceListUsage, fs, args, 0, 0); !ok {
		return code
	}
	cfg, err := config.Load(g.home)
	if err != nil {
		return g.fail("device list", err, "")
	}
	if *asJSON {
		return g.printJSON(nonNilList(cfg.Devices))
	}
	if len(cfg.Devices) == 0 {
		fmt.Fprintln(g.stderr, "no devices yet; add one with `ferry device add ID`")
		return exitOK
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	for _, d := range cfg.Devices {
		addrs := strings.Join(d.Addrs, ",")
		paused := ""
		if d.Paused {
			paused = "\tpaused"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\n", d.ID, orDash(d.Name), orDash(addrs), paused)
	}
	tw.Flush()
	return exitOK
}

func runDeviceRemove(g *globals, args []string) int {
	pos, code, ok := g.parse(deviceRemoveUsage, newFlagSet("device remove"), args, 1, 1)
	if !ok {
		return code
	}
	id, err := proto.ParseDeviceID(pos[0])
	if err != nil {
		return g.fail("device remove", err, idHint)
	}
	ctx, cancel := callContext()
	defer cancel()
	err = g.change(
		func(c *web.Client) error { return c.RemoveDevice(ctx, id.String()) },
		func(cfg *config.Config) error { return cfg.RemoveDevice(id) })
	if err != nil {
		return g.fail("device remove", err, hintIfNotFound(err, "See `ferry device list`"))
	}
	return exitOK
}

func runDeviceIgnore(g *globals, args []string) int {
	pos, code, ok := g.parse(deviceIgnoreUsage, newFlagSet("device ignore"), args, 1, 1)
	if !ok {
		return code
	}
	id, err := proto.ParseDeviceID(pos[0])
	if err != nil {
		return g.fail("device ignore", err, idHint)
	}
	ctx, cancel := callContext()
	defer cancel()
	err = g.change(
		func(c *web.Client) error { return c.IgnoreDevice(ctx, id.String()) },
		func(cfg *config.Config) error { return cfg.IgnoreDevice(id) })
	if err != nil {
		return g.fail("device ignore", err, "")
	}
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// hintIfNotFound returns hint when err says something does not exist.
func hintIfNotFound(err error, hint string) string {
	if errors.Is(err, config.ErrNotFound) || errors.Is(err, web.ErrNotFound) {
		return hint
	}
	return ""
}
