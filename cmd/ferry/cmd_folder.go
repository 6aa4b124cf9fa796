package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"ferry/engine/config"
	"ferry/index/history"
	"ferry/platform"
	"ferry/proto"
	"ferry/web"
)

var (
	folderAddUsage = usage{
		name:     "folder add",
		synopsis: "PATH [--id ID] [--type send-receive|send-only|receive-only] [--json]",
		help:     "Sync the existing directory PATH and print its folder ID (by default made from the directory's name).",
	}
	folderShareUsage = usage{
		name:     "folder share",
		synopsis: "FOLDER-ID DEVICE-ID",
		help:     "Share a folder with a trusted device. The other device must add and share the folder too.",
	}
	folderListUsage = usage{
		name: "folder list", synopsis: "[--json]",
		help: "List the folders: ID, type, path, the devices each is shared with, which old versions it keeps,\n" +
			"whether it is paused, and its label. --json prints the folders as in the config file.",
	}
	folderSetUsage = usage{
		name:     "folder set",
		synopsis: "FOLDER-ID [--type send-receive|send-only|receive-only] [--keep POLICY] [--path DIR] [--label TEXT] [--scan-interval DURATION]",
		help: "Change a folder's settings. --type receive-only makes it a backup target: changes made here are\n" +
			"not sent and never win; send-only makes this device the master: changes from elsewhere are not taken.\n" +
			"--keep says which old versions this device keeps: rules SPAN:EVERY from the newest, e.g. the default\n" +
			"24h:all,30d:daily,52w:weekly (all for a day, one a day for 30 days, one a week for a year), none or forever.\n" +
			"--path says where the folder's directory was moved to: its index goes with it, and a directory moved\n" +
			"as it was is not fetched again (one without the folder's .ferry marker waits for `ferry folder resume`).\n" +
			"--label names the folder for display; --scan-interval sets how often it is rescanned in full (0: the global interval).",
	}
)

func runFolder(g *globals, args []string) int {
	return group{name: "folder", subs: []subcommand{
		{folderAddUsage, runFolderAdd},
		{folderShareUsage, runFolderShare},
		{folderListUsage, runFolderList},
		{folderSetUsage, runFolderSet},
		{folderRemoveUsage, runFolderRemove},
		{folderUnshareUsage, runFolderUnshare},
		{folderPauseUsage, runFolderPause},
		{folderResumeUsage, runFolderResume},
		{folderOfferedUsage, runFolderOffered},
		{folderAcceptUsage, runFolderAccept},
		{folderConfirmUsage, runFolderConfirm},
		{folderRevertUsage, runFolderRevert},
		{folderOverrideUsage, runFolderOverride},
		{folderGuardUsage, runFolderGuard},
	}}.run(g, args)
}

func runFolderSet(g *globals, args []string) int {
	fs := newFlagSet("folder set")
	var typ config.FolderType
	fs.Func("type", "the folder `TYPE`: send-receive, send-only or receive-only", func(s string) (err error) {
		typ, err = config.ParseFolderType(s)
		return err
	})
	var keep *history.Policy
	fs.Func("keep", "which old versions to keep: `POLICY` such as 24h:all,30d:daily,52w:weekly, none or forever", func(s string) error {
		p, err := history.ParseKeep(s)
		keep = &p
		return err
	})
	path := fs.String("path", "", "the `DIR` the folder's directory was moved to")
	var label *string
	fs.Func("label", "a `TEXT` to show the folder by (empty: its ID)", func(s string) error { label = &s; return nil })
	var interval *config.Duration
	fs.Func("scan-interval", "how often to rescan in full, a `DURATION` such as 1h (0: the global interval)", func(s string) error {
		d, err := parseScanInterval(s)
		interval = &d
		return err
	})
	pos, code, ok := g.parse(folderSetUsage, fs, args, 1, 1)
	if !ok {
		return code
	}
	if typ == "" && keep == nil && *path == "" && label == nil && interval == nil {
		return g.usageError(folderSetUsage, fs, errors.New("say what to change: --type, --keep, --path, --label or --scan-interval"))
	}
	set := web.FolderSettings{Type: string(typ), Label: label}
	if keep != nil {
		set.Keep = keep.String()
	}
	if interval != nil {
		set.ScanInterval = interval.String()
	}
	if *path != "" {
		abs, err := existingDir(*path)
		if err != nil {
			return g.fail("folder set", err, "Give the directory the folder was moved to")
		}
		set.Path = abs
	}
	ctx, cancel := callContext()
	defer cancel()
	err := g.change(
		func(c *web.Client) error { return c.SetFolder(ctx, pos[0], set) },
		func(cfg *config.Config) error {
			if typ != "" {
				if err := cfg.SetFolderType(pos[0], typ); err != nil {
					return err
				}
			}
			if keep != nil {
				if err := cfg.SetKeep(pos[0], *keep); err != nil {
					return err
				}
			}
			if set.Path != "" {
				if err := config.CheckHomeApart(set.Path, g.home); err != nil {
					return err
				}
				if err := cfg.SetFolderPath(pos[0], set.Path); err != nil {
					return err
				}
				if err := moveIndex(g.home, pos[0], set.Path); err != nil {
					return err
				}
			}
			if label != nil {
				if err := cfg.SetFolderLabel(pos[0], *label); err != nil {
					return err
				}
			}
			if interval != nil {
				return cfg.SetFolderScanInterval(pos[0], *interval)
			}
			return nil
		})
	if err != nil {
		return g.fail("folder set", err, hintIfNotFound(err, "See `ferry folder list`"))
	}
	return exitOK
}

func runFolderAdd(g *globals, args []string) int {
	fs := newFlagSet("folder add")
	id := fs.String("id", "", "the folder `ID` (1-64 letters, digits, '.', '_' or '-')")
	typ := config.SendReceive
	fs.Func("type", "the folder `TYPE`: send-receive (default), send-only or receive-only", func(s string) (err error) {
		typ, err = config.ParseFolderType(s)
		return err
	})
	asJSON := jsonFlag(fs, "{id}")
	pos, code, ok := g.parse(folderAddUsage, fs, args, 1, 1)
	if !ok {
		return code
	}
	path, err := existingDir(pos[0])
	if err != nil {
		return g.fail("folder add", err, "Create the directory first, or check the path")
	}
	ctx, cancel := callContext()
	defer cancel()
	var added string
	err = g.change(
		func(c *web.Client) (err error) {
			added, err = c.AddFolder(ctx, web.FolderRequest{ID: *id, Path: path, Type: string(typ)})
			return err
		},
		func(cfg *config.Config) (err error) {
			if err := config.CheckHomeApart(path, g.home); err != nil {
				return err
			}
			if added, err = cfg.AddFolder(config.Folder{ID: *id, Path: path, Type: typ}); err != nil {
				return err
			}
			return platform.InitFolder(path)
		})
	if err != nil {
		return g.fail("folder add", err, "")
	}
	if *asJSON {
		return g.printJSON(map[string]string{"id": added})
	}
	fmt.Fprintln(g.stdout, added)
	return exitOK
}

// existingDir returns path made absolute if it is an existing directory.
func existingDir(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if os.IsNotExist(err) {
		return "", fmt.Errorf("%s does not exist", abs)
	}
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", abs)
	}
	return abs, nil
}

func runFolderShare(g *globals, args []string) int {
	pos, code, ok := g.parse(folderShareUsage, newFlagSet("folder share"), args, 2, 2)
	if !ok {
		return code
	}
	folder := pos[0]
	dev, err := proto.ParseDeviceID(pos[1])
	if err != nil {
		return g.fail("folder share", err, idHint)
	}
	ctx, cancel := callContext()
	defer cancel()
	err = g.change(
		func(c *web.Client) error { return c.ShareFolder(ctx, folder, dev.String()) },
		func(cfg *config.Config) error { return cfg.ShareFolder(folder, dev) })
	if err != nil {
		return g.fail("folder share", err, hintIfNotFound(err, "See `ferry folder list` and `ferry device list`"))
	}
	return exitOK
}

func runFolderList(g *globals, args []string) int {
	fs := newFlagSet("folder list")
	asJSON := fs.Bool("json", false, "print JSON: the folders as in the config file")
	if _, code, ok := g.parse(folderListUsage, fs, args, 0, 0); !ok {
		return code
	}
	cfg, err := config.Load(g.home)
	if err != nil {
		return g.fail("folder list", err, "")
	}
	if *asJSON {
		return g.printJSON(nonNilList(cfg.Folders))
	}
	if len(cfg.Folders) == 0 {
		fmt.Fprintln(g.stderr, "no folders yet; add one with `ferry folder add PATH`")
		return exitOK
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	for _, f := range cfg.Folders {
		extra := ""
		if f.Paused {
			extra = "\tpaused"
		}
		if f.Label != "" {
			extra += "\t" + strconv.Quote(f.Label)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tkeep %s%s\n", f.ID, f.Type, f.Path, orDash(sharedWith(cfg, f)), f.Keep, extra)
	}
	tw.Flush()
	return exitOK
}

// sharedWith names a folder's devices: the first group of each ID and the
// device's name if it has one.
// nonNilList is s, or an empty list for nil, so that JSON shows [].
func nonNilList[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func sharedWith(cfg config.Config, f config.Folder) string {
	names := make([]string, 0, len(f.Devices))
	for _, id := range f.Devices {
		s := id.Abbrev()
		if d, ok := cfg.Device(id); ok && d.Name != "" {
			s += "(" + d.Name + ")"
		}
		names = append(names, s)
	}
	return strings.Join(names, ",")
}
