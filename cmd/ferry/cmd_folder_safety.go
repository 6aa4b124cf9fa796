package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"ferry/engine/config"
	"ferry/platform"
	"ferry/web"
)

var (
	folderResumeUsage = usage{
		name:     "folder resume",
		synopsis: "FOLDER-ID",
		help: "Say that a folder's directory is right: a folder that stopped because its .ferry marker is missing\n" +
			"(its disk may be unmounted) gets a new marker and starts again; a mass-change warning is cleared.\n" +
			"A paused folder is only unpaused: its marker is checked as at any start.",
	}
	folderConfirmUsage = usage{
		name:     "folder confirm-deletes",
		synopsis: "FOLDER-ID",
		help:     "Let the deletions a folder holds (many files vanished at once, here or on a peer) go out as usual. Needs a running daemon.",
	}
	folderRevertUsage = usage{
		name:     "folder revert",
		synopsis: "FOLDER-ID",
		help: "Undo the deletions a folder holds: files that vanished here are pulled back from the other devices,\n" +
			"files another device deleted are kept and sent back to it. In a receive-only folder it also undoes the\n" +
			"changes made here: what the other devices have is put back, and what was here goes to the history\n" +
			"first (see ferry versions). Needs a running daemon.",
	}
	folderOverrideUsage = usage{
		name:     "folder override",
		synopsis: "FOLDER-ID",
		help: "Make a send-only folder's state the newest version everywhere: the changes other devices made to it\n" +
			"are replaced by what is here (the devices keep them in their history). Needs a running daemon.",
	}
	folderGuardUsage = usage{
		name:     "folder guard",
		synopsis: "FOLDER-ID FILES/PERCENT|off|default",
		help: "Set when a folder holds deletions for confirmation: at least FILES files and PERCENT % of its files\n" +
			"gone at once, or all of them (default 50/25); off never holds.",
	}
)

func runFolderResume(g *globals, args []string) int {
	pos, code, ok := g.parse(folderResumeUsage, newFlagSet("folder resume"), args, 1, 1)
	if !ok {
		return code
	}
	ctx, cancel := callContext()
	defer cancel()
	err := g.change(
		func(c *web.Client) error { return c.FolderAction(ctx, pos[0], web.ActionResume) },
		func(cfg *config.Config) error {
			f, ok := cfg.Folder(pos[0])
			if !ok {
				return fmt.Errorf("folder %q does not exist", pos[0])
			}
			if f.Paused {
				return cfg.SetFolderPaused(f.ID, false)
			}
			return platform.InitFolder(f.Path)
		})
	if err != nil {
		return g.fail("folder resume", err, hintIfNotFound(err, "See `ferry folder list`"))
	}
	return exitOK
}

func runFolderConfirm(g *globals, args []string) int {
	return g.folderAction(folderConfirmUsage, args, web.ActionConfirmDeletes)
}

func runFolderRevert(g *globals, args []string) int {
	return g.folderAction(folderRevertUsage, args, web.ActionRevert)
}

func runFolderOverride(g *globals, args []string) int {
	return g.folderAction(folderOverrideUsage, args, web.ActionOverride)
}

// folderAction runs a folder action that needs the daemon.
func (g *globals) folderAction(u usage, args []string, action string) int {
	pos, code, ok := g.parse(u, newFlagSet(u.name), args, 1, 1)
	if !ok {
		return code
	}
	c, addr, code, ok := g.mustDaemon(u.name)
	if !ok {
		return code
	}
	ctx, cancel := callContext()
	defer cancel()
	if err := c.FolderAction(ctx, pos[0], action); err != nil {
		return g.fail(u.name, explainAPIError(g.home, addr, err), hintIfNotFound(err, "See `ferry folder list`"))
	}
	return exitOK
}

func runFolderGuard(g *globals, args []string) int {
	pos, code, ok := g.parse(folderGuardUsage, newFlagSet("folder guard"), args, 2, 2)
	if !ok {
		return code
	}
	rule, err := parseGuard(pos[1])
	if err != nil {
		return g.usageError(folderGuardUsage, nil, err)
	}
	ctx, cancel := callContext()
	defer cancel()
	set := web.FolderSettings{DefaultDeleteGuard: rule == nil}
	if rule != nil {
		set.DeleteGuard = &web.DeleteGuard{Files: rule.Files, Percent: rule.Percent}
	}
	err = g.change(
		func(c *web.Client) error { return c.SetFolder(ctx, pos[0], set) },
		func(cfg *config.Config) error { return cfg.SetDeleteGuard(pos[0], rule) })
	if err != nil {
		return g.fail("folder guard", err, hintIfNotFound(err, "See `ferry folder list`"))
	}
	return exitOK
}

// parseGuard reads "FILES/PERCENT", "off" (nothing held) or "default" (nil).
func parseGuard(s string) (*config.DeleteGuard, error) {
	switch s {
	case "default":
		return nil, nil
	case "off", "0":
		return &config.DeleteGuard{}, nil
	}
	files, pct, ok := strings.Cut(strings.TrimSuffix(s, "%"), "/")
	n, err1 := strconv.Atoi(files)
	p, err2 := strconv.Atoi(strings.TrimSuffix(pct, "%"))
	if !ok || err1 != nil || err2 != nil || n < 0 || p < 0 || p > 100 {
		return nil, errors.New("want FILES/PERCENT (e.g. 50/25), off or default")
	}
	return &config.DeleteGuard{Files: n, Percent: p}, nil
}
