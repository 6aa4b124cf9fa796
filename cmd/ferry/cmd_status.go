package main

import (
	"fmt"
	"io"
	"strings"

	"ferry/web"
)

var statusUsage = usage{
	name:     "status",
	synopsis: "[--json]",
	help: "Show the running daemon's folders (state, sync progress, errors) and devices (connection, traffic).\n" +
		"--json prints the API's status document: folders[] with id, path, type, state (idle|scanning|syncing|error),\n" +
		"inSync, needFiles, needBytes, localFiles, localBytes, globalFiles, globalBytes, conflicts, errors, devices;\n" +
		"devices[] with id, name, connected, address, inBytes, outBytes; pending[] with id, address, lastSeen.",
}

func runStatus(g *globals, args []string) int {
	fs := newFlagSet("status")
	asJSON := fs.Bool("json", false, "print JSON, exactly as the API returns it")
	if _, code, ok := g.parse(statusUsage, fs, args, 0, 0); !ok {
		return code
	}
	c, addr, code, ok := g.mustDaemon("status")
	if !ok {
		return code
	}
	ctx, cancel := callContext()
	defer cancel()
	if *asJSON {
		raw, err := c.StatusJSON(ctx)
		if err != nil {
			return g.apiFail("status", addr, err)
		}
		g.stdout.Write(raw)
		return exitOK
	}
	st, err := c.Status(ctx)
	if err != nil {
		return g.apiFail("status", addr, err)
	}
	printStatus(g.stdout, st)
	return exitOK
}

func printStatus(w io.Writer, st web.Status) {
	fmt.Fprintf(w, "This device %s (%s)\n", st.Device.ID, st.Device.Name)
	for _, f := range st.Folders {
		printFolderStatus(w, f)
	}
	for _, d := range st.Devices {
		printDeviceStatus(w, d)
	}
	for _, p := range st.Pending {
		fmt.Fprintf(w, "\nPending device %s\n", p.ID)
		fmt.Fprintf(w, "  tried to connect from %s, last at %s\n", p.Address, p.LastSeen)
		fmt.Fprintf(w, "  trust it with: ferry device add %s\n", p.ID)
	}
}

func printFolderStatus(w io.Writer, f web.FolderStatus) {
	sync := "in sync"
	if !f.InSync {
		sync = "out of sync"
	}
	fmt.Fprintf(w, "\nFolder %s  %s  (%s)\n", f.ID, f.Path, f.Type)
	fmt.Fprintf(w, "  state      %s, %s\n", f.State, sync)
	fmt.Fprintf(w, "  local      %s\n", filesAndBytes(f.LocalFiles, f.LocalBytes))
	fmt.Fprintf(w, "  global     %s\n", filesAndBytes(f.GlobalFiles, f.GlobalBytes))
	fmt.Fprintf(w, "  need       %s\n", filesAndBytes(f.NeedFiles, f.NeedBytes))
	if f.Conflicts > 0 {
		fmt.Fprintf(w, "  conflicts  %d\n", f.Conflicts)
	}
	if len(f.Devices) > 0 {
		fmt.Fprintf(w, "  shared     %s\n", strings.Join(abbrevs(f.Devices), ", "))
	}
	for _, e := range f.Errors {
		fmt.Fprintf(w, "  error      %s\n", e)
	}
}

func printDeviceStatus(w io.Writer, d web.DeviceStatus) {
	fmt.Fprintf(w, "\nDevice %s (%s)\n", d.ID, orDash(d.Name))
	if d.Connected {
		fmt.Fprintf(w, "  connected  yes, %s\n", d.Address)
	} else {
		fmt.Fprintf(w, "  connected  no\n")
	}
	fmt.Fprintf(w, "  received   %s\n  sent       %s\n", formatBytes(d.InBytes), formatBytes(d.OutBytes))
}

// abbrevs shortens device IDs to their first group.
func abbrevs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i], _, _ = strings.Cut(id, "-")
	}
	return out
}

func filesAndBytes(files int, bytes int64) string {
	unit := "files"
	if files == 1 {
		unit = "file"
	}
	return fmt.Sprintf("%d %s, %s", files, unit, formatBytes(bytes))
}

// formatBytes renders n with a binary unit: 0 B, 999 B, 1.5 KiB, 2.0 GiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
