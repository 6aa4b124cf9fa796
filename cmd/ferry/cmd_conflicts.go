package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"ferry/web"
)

var conflictsUsage = usage{
	name:     "conflicts",
	synopsis: "[FOLDER-ID] [--json]",
	help: "List the conflict copies in FOLDER-ID, or in every folder: when two devices changed a file at once, the\n" +
		"losing version is kept beside it as name.conflict-YYYYMMDD-HHMMSS-DEVICE.ext. For each, two lines: the file\n" +
		"and the copy, with the device that made that version, when it was modified and its size. Resolve them\n" +
		"in the web UI (`ferry ui`): keep one version (the other goes to the history) or both; in a receive-only\n" +
		"folder, resolve them on a device that sends changes.\n" +
		"--json prints the API's list: [] of {folder, original, copy}, each side with name, exists, device,\n" +
		"deviceName, modTime, size and version (pass versions back to POST /api/conflicts/resolve).\n" +
		"Needs a running daemon.",
}

func runConflicts(g *globals, args []string) int {
	fs := newFlagSet("conflicts")
	asJSON := fs.Bool("json", false, "print the API's list as JSON")
	pos, code, ok := g.parse(conflictsUsage, fs, args, 0, 1)
	if !ok {
		return code
	}
	folder := ""
	if len(pos) == 1 {
		folder = pos[0]
	}
	c, addr, code, ok := g.mustDaemon("conflicts")
	if !ok {
		return code
	}
	ctx, cancel := callContext()
	defer cancel()
	cs, err := c.ConflictList(ctx, folder)
	if err != nil {
		return g.apiFail("conflicts", addr, err)
	}
	if *asJSON {
		if cs == nil {
			cs = []web.Conflict{}
		}
		return g.printJSON(cs)
	}
	printConflicts(g.stdout, cs)
	return exitOK
}

// printConflicts prints two lines a conflict: the file, then its copy.
func printConflicts(w io.Writer, cs []web.Conflict) {
	if len(cs) == 0 {
		fmt.Fprintln(w, "no conflict copies")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FOLDER\tVERSION\tNAME\tBY\tMODIFIED\tSIZE")
	for _, c := range cs {
		for _, v := range []struct {
			what string
			web.ConflictVersion
		}{{"file", c.Original}, {"copy", c.Copy}} {
			if !v.Exists {
				fmt.Fprintf(tw, "%s\t%s\t%s\t-\t(deleted)\t-\n", c.Folder, v.what, v.Name)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Folder, v.what, v.Name, deviceLabel(v.ConflictVersion),
				v.ModTime.Local().Format("2006-01-02 15:04:05"), formatBytes(v.Size))
		}
	}
	tw.Flush()
	if len(cs) == web.MaxConflicts {
		fmt.Fprintf(w, "(the first %d only)\n", web.MaxConflicts)
	}
}

// deviceLabel names the device that made a version: its name and short
// ID, or the ID alone.
func deviceLabel(v web.ConflictVersion) string {
	id := v.Device[:min(len(v.Device), 7)]
	if v.DeviceName == "" {
		return id
	}
	return v.DeviceName + " (" + id + ")"
}
