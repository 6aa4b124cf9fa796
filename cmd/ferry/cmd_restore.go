package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"ferry/engine/config"
	"ferry/web"
)

var (
	versionsUsage = usage{
		name:     "versions",
		synopsis: "PATH [--json]",
		help: "List the versions of the file at PATH (inside a synced folder): the current one, then those this\n" +
			"device kept, newest first, with when each was replaced, its size, the device whose change replaced\n" +
			"it and how (edited, deleted, conflict copy, reverted). Needs a running daemon.",
	}
	restoreUsage = usage{
		name:     "restore",
		synopsis: "PATH (--at TIME | --version N) [--to DIR] [--json]",
		help: "Bring back a version of the file at PATH: the one it was at TIME, or version N of `ferry versions`.\n" +
			"In place, the file that is there now is kept in the history first and the restored one syncs like\n" +
			"any change; with --to it is written into DIR and the folder is not touched. TIME is RFC 3339, a date\n" +
			"and time (2026-12-01 18:00), or relative (2h ago, yesterday 18:00). Needs a running daemon.",
	}
)

// locate finds the folder that holds path, an absolute or relative path on
// this machine, and the name inside it.
func locate(home, path string) (folder, name string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", err
	}
	cfg, err := config.Load(home)
	if err != nil {
		return "", "", err
	}
	best := -1
	for _, f := range cfg.Folders {
		rel, err := filepath.Rel(f.Path, abs)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if len(f.Path) > best {
			best, folder, name = len(f.Path), f.ID, filepath.ToSlash(rel)
		}
	}
	if best < 0 {
		return "", "", fmt.Errorf("%s is not inside a synced folder", abs)
	}
	return folder, name, nil
}

func runVersions(g *globals, args []string) int {
	fs := newFlagSet("versions")
	asJSON := fs.Bool("json", false, "print the API's answer")
	pos, code, ok := g.parse(versionsUsage, fs, args, 1, 1)
	if !ok {
		return code
	}
	folder, name, err := locate(g.home, pos[0])
	if err != nil {
		return g.fail("versions", err, "See `ferry folder list`")
	}
	c, addr, code, ok := g.mustDaemon("versions")
	if !ok {
		return code
	}
	vs, err := c.Versions(context.Background(), folder, name)
	if err != nil {
		return g.fail("versions", explainAPIError(g.home, addr, err), "")
	}
	if *asJSON {
		return g.printJSON(vs)
	}
	w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tREPLACED\tSIZE\tMODIFIED\tHOW\tBY")
	for _, v := range vs {
		id, until := fmt.Sprint(v.ID), v.Until.Local().Format("2006-01-02 15:04:05")
		if v.ID == 0 {
			id, until = "current", "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", id, until, formatBytes(v.Size), v.ModTime.Local().Format("2006-01-02 15:04:05"), v.Kind, orDash(v.By))
	}
	w.Flush()
	return exitOK
}

func runRestore(g *globals, args []string) int {
	fs := newFlagSet("restore")
	at := fs.String("at", "", "restore the version the file was at `TIME`")
	version := fs.Uint64("version", 0, "restore version `N` of ferry versions")
	to := fs.String("to", "", "write the file into `DIR` instead of its place")
	asJSON := fs.Bool("json", false, "print the API's answer")
	pos, code, ok := g.parse(restoreUsage, fs, args, 1, 1)
	if !ok {
		return code
	}
	req := web.RestoreRequest{Version: *version}
	switch {
	case (*at == "") == (*version == 0):
		return g.usageError(restoreUsage, fs, errors.New("say which version: --at TIME or --version N"))
	case *at != "":
		t, err := parseTime(*at, time.Now())
		if err != nil {
			return g.usageError(restoreUsage, fs, err)
		}
		req.At = t
	}
	if *to != "" {
		dir, err := filepath.Abs(*to)
		if err != nil {
			return g.usageError(restoreUsage, fs, err)
		}
		req.To = dir
	}
	var err error
	if req.Folder, req.Name, err = locate(g.home, pos[0]); err != nil {
		return g.fail("restore", err, "See `ferry folder list`")
	}
	c, addr, code, ok := g.mustDaemon("restore")
	if !ok {
		return code
	}
	res, err := c.Restore(context.Background(), req)
	if err != nil {
		return g.fail("restore", explainAPIError(g.home, addr, err), "See `ferry versions "+pos[0]+"`")
	}
	if *asJSON {
		return g.printJSON(res)
	}
	fmt.Fprintf(g.stdout, "restored %s (%s, version %d)\n", res.Path, formatBytes(res.Size), res.Version)
	return exitOK
}

// printJSON prints v as indented JSON.
func (g *globals) printJSON(v any) int {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return g.fail("json", err, "")
	}
	return exitOK
}
