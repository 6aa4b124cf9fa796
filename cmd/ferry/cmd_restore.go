package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
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
		synopsis: "PATH (--at TIME | --version N) [--to DIR] [--json]  |  --folder ID --at TIME [--to DIR] [--exact] [--json]",
		help: "Bring back a version of the file at PATH: the one it was at TIME, or version N of `ferry versions`;\n" +
			"or, with --folder, every file of a folder as it was at TIME. In place, what is there now is kept in the\n" +
			"history first and what is restored syncs like any change; files made after TIME stay unless --exact\n" +
			"is given (then they go to the history and are removed). With --to it is written into DIR (for a\n" +
			"folder: an empty or new directory) and the folder is not touched. TIME is RFC 3339, a date and time\n" +
			"(2026-12-01 18:00), or relative (2h ago, yesterday 18:00). Needs a running daemon.",
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
		if v.Device != "" {
			id += "@" + v.Device[:min(len(v.Device), 7)]
		}
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
	version := fs.String("version", "", "restore version `N` (or N@DEVICE, kept by another device) of ferry versions")
	to := fs.String("to", "", "write the file into `DIR` instead of its place")
	asJSON := fs.Bool("json", false, "print the API's answer")
	folder := fs.String("folder", "", "restore every file of folder `ID`")
	exact := fs.Bool("exact", false, "with --folder in place: also remove the files made after TIME (kept in the history)")
	pos, code, ok := g.parse(restoreUsage, fs, args, 0, 1)
	if !ok {
		return code
	}
	if *folder != "" || len(pos) == 0 {
		return g.restoreFolder(fs, pos, *folder, *at, *version != "", *to, *exact, *asJSON)
	}
	if *exact {
		return g.usageError(restoreUsage, fs, errors.New("--exact is for a folder restore (--folder)"))
	}
	var req web.RestoreRequest
	if *version != "" {
		n, dev, _ := strings.Cut(*version, "@")
		id, err := strconv.ParseUint(n, 10, 64)
		if err != nil || id == 0 {
			return g.usageError(restoreUsage, fs, fmt.Errorf("--version %s: want a number from ferry versions, or N@DEVICE", *version))
		}
		req.Version, req.Device = id, dev
	}
	switch {
	case (*at == "") == (req.Version == 0):
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

// restoreFolder runs ferry restore --folder.
func (g *globals) restoreFolder(fs *flag.FlagSet, pos []string, folder, at string, version bool, to string, exact, asJSON bool) int {
	switch {
	case len(pos) > 0 || folder == "":
		return g.usageError(restoreUsage, fs, errors.New("give PATH or --folder ID, not both"))
	case at == "" || version:
		return g.usageError(restoreUsage, fs, errors.New("a folder is restored as it was at a time: --at TIME"))
	case exact && to != "":
		return g.usageError(restoreUsage, fs, errors.New("--exact is for a restore in place, not --to"))
	}
	t, err := parseTime(at, time.Now())
	if err != nil {
		return g.usageError(restoreUsage, fs, err)
	}
	req := web.FolderRestoreRequest{Folder: folder, At: t, Exact: exact}
	if to != "" {
		if req.To, err = filepath.Abs(to); err != nil {
			return g.usageError(restoreUsage, fs, err)
		}
	}
	c, addr, code, ok := g.mustDaemon("restore")
	if !ok {
		return code
	}
	show := !asJSON && isTerminal(g.stderr)
	start := time.Now()
	res, err := c.RestoreFolder(context.Background(), req, func(p web.RestoreProgress) {
		if show {
			fmt.Fprintf(g.stderr, "\r%s", restoreProgress(p, time.Since(start)))
		}
	})
	if show {
		fmt.Fprintln(g.stderr)
	}
	if err != nil {
		return g.fail("restore", explainAPIError(g.home, addr, err), hintIfNotFound(err, "See `ferry folder list`"))
	}
	if asJSON {
		return g.printJSON(res)
	}
	fmt.Fprintf(g.stdout, "restored %s as it was at %s: %d files written (%s), %d already so, %d removed\n",
		res.Path, t.Format("2006-01-02 15:04:05"), res.Files, formatBytes(res.Bytes), res.Unchanged, res.Removed)
	return exitOK
}

// restoreProgress is one line of a folder restore's progress: files,
// bytes, rate and the time left.
func restoreProgress(p web.RestoreProgress, took time.Duration) string {
	line := fmt.Sprintf("%d of %d files, %s of %s", p.Files, p.TotalFiles, formatBytes(p.Bytes), formatBytes(p.TotalBytes))
	if sec := took.Seconds(); sec > 0 && p.Bytes > 0 {
		rate := float64(p.Bytes) / sec
		line += fmt.Sprintf(", %s, about %s left", formatRate(rate), formatETA(float64(p.TotalBytes-p.Bytes)/rate))
	}
	return line
}

// printJSON prints v as indented JSON.
// printJSONLine prints v as one line of JSON.
func (g *globals) printJSONLine(v any) {
	if err := json.NewEncoder(g.stdout).Encode(v); err != nil {
		g.fail("json", err, "")
	}
}

func (g *globals) printJSON(v any) int {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return g.fail("json", err, "")
	}
	return exitOK
}
