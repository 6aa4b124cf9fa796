package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"ferry/engine/config"
	"ferry/index"
	"ferry/index/history"
	"ferry/proto"
	"ferry/web"
)

var (
	folderRemoveUsage = usage{
		name:     "folder remove",
		synopsis: "FOLDER-ID [--forget]",
		help: "Stop syncing a folder. Its files stay on disk as they are. Its index and the old versions this device\n" +
			"keeps of it are kept too, so adding the folder again at the same path takes up where it left off;\n" +
			"--forget drops them (the old versions can then no longer be restored).",
	}
	folderUnshareUsage = usage{
		name:     "folder unshare",
		synopsis: "FOLDER-ID DEVICE-ID",
		help:     "Stop sharing a folder with a device. The files stay on both devices.",
	}
	folderPauseUsage = usage{
		name:     "folder pause",
		synopsis: "FOLDER-ID",
		help:     "Stop scanning and syncing a folder until `ferry folder resume`. Transfers stop at once; nothing is deleted.",
	}
	folderOfferedUsage = usage{
		name:     "folder offered",
		synopsis: "[--json]",
		help: "List the folders trusted devices share with this one that it does not take yet: device, folder ID, and\n" +
			"whether a folder here has that ID. Take one with `ferry folder accept`. Needs a running daemon.",
	}
	folderAcceptUsage = usage{
		name:     "folder accept",
		synopsis: "DEVICE-ID FOLDER-ID [PATH] [--json]",
		help: "Take a folder a trusted device offers (see `ferry folder offered`) into the directory PATH, made when\n" +
			"missing: files already there are kept and merged. When a folder here has that ID, it is shared with the\n" +
			"device instead and PATH may be left out. Prints the folder's path. Needs a running daemon.",
	}
	deviceRenameUsage = usage{name: "device rename", synopsis: "ID NAME", help: "Change the name a device is shown by."}
	devicePauseUsage  = usage{
		name:     "device pause",
		synopsis: "ID",
		help:     "Stop syncing with a device until `ferry device resume`: its connection is closed and it is not let in.",
	}
	deviceResumeUsage = usage{name: "device resume", synopsis: "ID", help: "Sync with a paused device again."}
	deviceSetUsage    = usage{
		name:     "device set",
		synopsis: "ID [--name NAME] [--addr HOST:PORT]... [--discover] [--max-send RATE] [--max-recv RATE]",
		help: "Change a device's settings: --addr replaces the addresses it is dialled at; --discover drops them, so it is\n" +
			"found on the network. --max-send and --max-recv limit what is sent to and received from it, in bytes per\n" +
			"second (e.g. 500K, 2M; K/M/G are 1024-based; 0 for no limit), on the local network too.",
	}
)

func runFolderRemove(g *globals, args []string) int {
	fs := newFlagSet("folder remove")
	forget := fs.Bool("forget", false, "also drop the folder's index and the old versions kept of it")
	pos, code, ok := g.parse(folderRemoveUsage, fs, args, 1, 1)
	if !ok {
		return code
	}
	id := pos[0]
	ctx, cancel := callContext()
	defer cancel()
	var path string
	err := g.change(
		func(c *web.Client) error {
			if cfg, err := config.Load(g.home); err == nil {
				f, _ := cfg.Folder(id)
				path = f.Path
			}
			return c.RemoveFolder(ctx, id, *forget)
		},
		func(cfg *config.Config) error {
			f, _ := cfg.Folder(id)
			path = f.Path
			if err := cfg.RemoveFolder(id); err != nil {
				return err
			}
			if *forget {
				return forgetFolder(g.home, id)
			}
			return nil
		})
	if err != nil {
		return g.fail("folder remove", err, hintIfNotFound(err, "See `ferry folder list`"))
	}
	fmt.Fprintf(g.stderr, "folder %s removed; its files stay in %s\n", id, path)
	return exitOK
}

// withIndex runs fn on the index of a home no daemon runs on, if there is
// one; the caller holds the home lock.
func withIndex(home string, fn func(*index.DB) error) error {
	path := filepath.Join(home, "index.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := index.Open(path)
	if err != nil {
		return err
	}
	err = fn(db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// moveIndex records in a home no daemon runs on that folder id's index
// describes the directory it was moved to, as the daemon does for
// `folder set --path`: started, it then keeps the index instead of
// rebuilding it.
func moveIndex(home, id, path string) error {
	return withIndex(home, func(db *index.DB) error {
		ids, err := db.Folders()
		if err != nil || !slices.Contains(ids, id) {
			return err
		}
		f, err := db.Folder(id)
		if err != nil {
			return err
		}
		_, dev, err := f.Root()
		if err != nil {
			return err
		}
		return f.SetRoot(path, dev)
	})
}

// forgetFolder drops a folder's index and history from a home no daemon
// runs on; the caller holds the home lock.
func forgetFolder(home, id string) error {
	err := withIndex(home, func(db *index.DB) error { return db.DropFolder(id) })
	if err != nil {
		return err
	}
	path := filepath.Join(home, "history", "history.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	h, err := history.Open(path)
	if err != nil {
		return err
	}
	err = h.DropFolder(id)
	if cerr := h.Close(); err == nil {
		err = cerr
	}
	return err
}

func runFolderUnshare(g *globals, args []string) int {
	pos, code, ok := g.parse(folderUnshareUsage, newFlagSet("folder unshare"), args, 2, 2)
	if !ok {
		return code
	}
	dev, err := proto.ParseDeviceID(pos[1])
	if err != nil {
		return g.fail("folder unshare", err, idHint)
	}
	ctx, cancel := callContext()
	defer cancel()
	err = g.change(
		func(c *web.Client) error { return c.UnshareFolder(ctx, pos[0], dev.String()) },
		func(cfg *config.Config) error { return cfg.UnshareFolder(pos[0], dev) })
	if err != nil {
		return g.fail("folder unshare", err, hintIfNotFound(err, "See `ferry folder list`"))
	}
	return exitOK
}

func runFolderPause(g *globals, args []string) int {
	pos, code, ok := g.parse(folderPauseUsage, newFlagSet("folder pause"), args, 1, 1)
	if !ok {
		return code
	}
	ctx, cancel := callContext()
	defer cancel()
	err := g.change(
		func(c *web.Client) error { return c.FolderAction(ctx, pos[0], web.ActionPause) },
		func(cfg *config.Config) error { return cfg.SetFolderPaused(pos[0], true) })
	if err != nil {
		return g.fail("folder pause", err, hintIfNotFound(err, "See `ferry folder list`"))
	}
	return exitOK
}

func runFolderOffered(g *globals, args []string) int {
	fs := newFlagSet("folder offered")
	asJSON := jsonFlag(fs, "a list of {device, deviceName, folder, existing, lastSeen}")
	if _, code, ok := g.parse(folderOfferedUsage, fs, args, 0, 0); !ok {
		return code
	}
	c, addr, code, ok := g.mustDaemon("folder offered")
	if !ok {
		return code
	}
	ctx, cancel := callContext()
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return g.apiFail("folder offered", addr, err)
	}
	if *asJSON {
		return g.printJSON(st.Offered)
	}
	if len(st.Offered) == 0 {
		fmt.Fprintln(g.stderr, "no device offers a folder this device does not take")
		return exitOK
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tNAME\tFOLDER\tHERE")
	for _, o := range st.Offered {
		here := "-"
		if o.Existing {
			here = "a folder here has this ID"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Device, orDash(o.DeviceName), o.Folder, here)
	}
	tw.Flush()
	return exitOK
}

func runFolderAccept(g *globals, args []string) int {
	fs := newFlagSet("folder accept")
	asJSON := jsonFlag(fs, "{path}")
	pos, code, ok := g.parse(folderAcceptUsage, fs, args, 2, 3)
	if !ok {
		return code
	}
	dev, err := proto.ParseDeviceID(pos[0])
	if err != nil {
		return g.fail("folder accept", err, idHint)
	}
	req := web.AcceptRequest{Device: dev.String(), Folder: pos[1]}
	if len(pos) == 3 {
		if req.Path, err = filepath.Abs(pos[2]); err != nil {
			return g.fail("folder accept", err, "")
		}
	}
	c, addr, code, ok := g.mustDaemon("folder accept")
	if !ok {
		return code
	}
	ctx, cancel := callContext()
	defer cancel()
	path, err := c.AcceptFolder(ctx, req)
	if err != nil {
		return g.fail("folder accept", explainAPIError(g.home, addr, err), hintIfNotFound(err, "See `ferry folder offered`"))
	}
	if *asJSON {
		return g.printJSON(map[string]string{"path": path})
	}
	fmt.Fprintln(g.stdout, path)
	return exitOK
}

func runDeviceRename(g *globals, args []string) int {
	pos, code, ok := g.parse(deviceRenameUsage, newFlagSet("device rename"), args, 2, 2)
	if !ok {
		return code
	}
	return g.setDevice(deviceRenameUsage.name, pos[0], web.DeviceSettings{Name: &pos[1]})
}

func runDevicePause(g *globals, args []string) int {
	return g.pauseDevice(devicePauseUsage, args, true)
}

func runDeviceResume(g *globals, args []string) int {
	return g.pauseDevice(deviceResumeUsage, args, false)
}

func (g *globals) pauseDevice(u usage, args []string, paused bool) int {
	pos, code, ok := g.parse(u, newFlagSet(u.name), args, 1, 1)
	if !ok {
		return code
	}
	return g.setDevice(u.name, pos[0], web.DeviceSettings{Paused: &paused})
}

func runDeviceSet(g *globals, args []string) int {
	fs := newFlagSet("device set")
	var s web.DeviceSettings
	fs.Func("name", "the device's `NAME`", func(v string) error { s.Name = &v; return nil })
	var addrs stringList
	fs.Var(&addrs, "addr", "an address where the device listens, `HOST:PORT`; repeat for more")
	discover := fs.Bool("discover", false, "drop the device's addresses: find it on the network")
	rateFlag := func(name, what string, into **int64) {
		fs.Func(name, "limit what is "+what+" this device to `RATE` bytes per second (e.g. 2M; 0: no limit)", func(v string) error {
			r, err := config.ParseRate(v)
			*into = &r
			return err
		})
	}
	rateFlag("max-send", "sent to", &s.MaxSend)
	rateFlag("max-recv", "received from", &s.MaxRecv)
	pos, code, ok := g.parse(deviceSetUsage, fs, args, 1, 1)
	if !ok {
		return code
	}
	switch {
	case *discover && len(addrs) > 0:
		return g.usageError(deviceSetUsage, fs, errors.New("--addr and --discover exclude each other"))
	case *discover:
		s.Addrs = &[]string{}
	case len(addrs) > 0:
		a := []string(addrs)
		s.Addrs = &a
	}
	if s == (web.DeviceSettings{}) {
		return g.usageError(deviceSetUsage, fs, errors.New("say what to change"))
	}
	return g.setDevice("device set", pos[0], s)
}

// setDevice changes a device's settings through the daemon, or in the
// config when none runs.
func (g *globals) setDevice(what, device string, s web.DeviceSettings) int {
	id, err := proto.ParseDeviceID(device)
	if err != nil {
		return g.fail(what, err, idHint)
	}
	ctx, cancel := callContext()
	defer cancel()
	err = g.change(
		func(c *web.Client) error { return c.SetDevice(ctx, id.String(), s) },
		func(cfg *config.Config) error {
			return cfg.SetDevice(id, config.DeviceChange{Name: s.Name, Addrs: s.Addrs, Paused: s.Paused, MaxSend: s.MaxSend, MaxRecv: s.MaxRecv})
		})
	if err != nil {
		return g.fail(what, err, hintIfNotFound(err, "See `ferry device list`"))
	}
	return exitOK
}

// jsonFlag adds --json to fs: print what the command prints as JSON of the
// given shape.
func jsonFlag(fs *flag.FlagSet, shape string) *bool {
	return fs.Bool("json", false, "print JSON: "+shape)
}

// parseScanInterval reads --scan-interval: a Go duration, or 0 for the
// global interval.
func parseScanInterval(s string) (config.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 30m or 1h, or 0 for the global interval")
	}
	return config.Duration(d), nil
}
