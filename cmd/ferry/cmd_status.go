package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"ferry/web"
)

var statusUsage = usage{
	name:     "status",
	synopsis: "[--json] [--watch [--interval DURATION]]",
	help: "Show the running daemon's folders (state, progress, rate, ETA, errors) and devices (connection, rates).\n" +
		"--watch redraws the view every --interval (1s) until interrupted: per folder the percent done in bytes, the rate,\n" +
		"the ETA and the files being pulled now, each with its own percent. On a terminal each view replaces the last; otherwise\n" +
		"the views follow each other, a blank line between them, without escape codes. With --json, --watch prints one\n" +
		"status document per line per interval.\n" +
		"--json prints the API's status document: folders[] with id, path, type, state (idle|scanning|syncing|held|paused|error|\n" +
		"local-changes|out-of-sync|upgrading), label, paused, scanInterval, upgraded, inSync, needFiles, needBytes, localFiles, localBytes, globalFiles, globalBytes, conflicts, inRate, eta, errors,\n" +
		"heldLocal, heldRemote, heldSample, massChange, apart, apartSample, pulling[] (the files being pulled now, at most 8,\n" +
		"with name, size and done bytes), pullingFiles (how many are pulled in all); needBytes leaves out what is in place of them,\n" +
		"devices; devices[] with id, name, paused, addrs, maxSend, maxRecv, connected, address, inBytes, outBytes, inRate, outRate;\n" +
		"pending[] with id, address, lastSeen; offered[] with device, deviceName, folder, existing, lastSeen (folders other\n" +
		"devices share that this one does not take). Rates are bytes per second, eta is seconds.",
}

// clearScreen moves the cursor home and clears a terminal.
const clearScreen = "\x1b[H\x1b[2J"

func runStatus(g *globals, args []string) int {
	fs := newFlagSet("status")
	asJSON := fs.Bool("json", false, "print JSON, exactly as the API returns it")
	watch := fs.Bool("watch", false, "redraw the status until interrupted")
	var every time.Duration
	fs.DurationVar(&every, "interval", time.Second, "how often --watch redraws, e.g. 500ms or 5s (at least 100ms)")
	fs.DurationVar(&every, "every", time.Second, "the same as --interval")
	if _, code, ok := g.parse(statusUsage, fs, args, 0, 0); !ok {
		return code
	}
	if every < 100*time.Millisecond {
		return g.usageError(statusUsage, fs, fmt.Errorf("--interval %s is too short; use at least 100ms", every))
	}
	c, addr, code, ok := g.mustDaemon("status")
	if !ok {
		return code
	}
	if *asJSON && !*watch {
		ctx, cancel := callContext()
		defer cancel()
		raw, err := c.StatusJSON(ctx)
		if err != nil {
			return g.apiFail("status", addr, err)
		}
		g.stdout.Write(raw)
		return exitOK
	}
	if !*watch {
		ctx, cancel := callContext()
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return g.apiFail("status", addr, err)
		}
		printStatus(g.stdout, st, time.Now())
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return watchStatus(ctx, g, c, addr, every, *asJSON)
}

// watchStatus redraws the status every interval until ctx ends. On a
// terminal each view replaces the last; otherwise views follow each other.
func watchStatus(ctx context.Context, g *globals, c *web.Client, addr string, every time.Duration, asJSON bool) int {
	tty := isTerminal(g.stdout) && !asJSON
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var buf bytes.Buffer
		if tty {
			buf.WriteString(clearScreen)
		}
		callCtx, cancel := context.WithTimeout(ctx, every+5*time.Second)
		if asJSON {
			raw, err := c.StatusJSON(callCtx)
			switch {
			case err == nil:
				writeJSONLine(&buf, raw)
			case ctx.Err() == nil:
				msg, _ := json.Marshal(map[string]string{"error": "cannot reach the daemon at " + addr + ": " + err.Error()})
				writeJSONLine(&buf, msg)
			}
		} else {
			st, err := c.Status(callCtx)
			switch {
			case err == nil:
				printStatus(&buf, st, time.Now())
			case ctx.Err() == nil:
				fmt.Fprintf(&buf, "cannot reach the daemon at %s: %v\n(retrying; Ctrl-C to stop)\n", addr, err)
			}
			if !tty {
				buf.WriteString("\n")
			}
		}
		cancel()
		if ctx.Err() != nil {
			return exitOK
		}
		g.stdout.Write(buf.Bytes())
		select {
		case <-ctx.Done():
			return exitOK
		case <-t.C:
		}
	}
}

// writeJSONLine writes the JSON document raw on one line.
func writeJSONLine(buf *bytes.Buffer, raw []byte) {
	if err := json.Compact(buf, raw); err != nil {
		msg, _ := json.Marshal(map[string]string{"error": "the daemon sent a status that is not JSON: " + err.Error()})
		buf.Write(msg)
	}
	buf.WriteByte('\n')
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printStatus(w io.Writer, st web.Status, now time.Time) {
	fmt.Fprintf(w, "This device  %s  (%s)   %s\n", st.Device.ID, st.Device.Name, now.Format("15:04:05"))
	printReach(w, st.Device)
	if len(st.Folders) > 0 {
		fmt.Fprintf(w, "\nFolders\n")
	}
	for _, f := range st.Folders {
		printFolderStatus(w, f)
	}
	if len(st.Devices) > 0 {
		fmt.Fprintf(w, "\nDevices\n")
	}
	names := make(map[string]string, len(st.Devices))
	for _, d := range st.Devices {
		names[d.ID] = d.Name
	}
	for _, d := range st.Devices {
		printDeviceStatus(w, d, names)
	}
	for _, p := range st.Pending {
		fmt.Fprintf(w, "\nPending device %s\n", p.ID)
		fmt.Fprintf(w, "  tried to connect from %s, last at %s\n", p.Address, p.LastSeen)
		fmt.Fprintf(w, "  trust it with: ferry device add %s\n", p.ID)
	}
}

func printFolderStatus(w io.Writer, f web.FolderStatus) {
	fmt.Fprintf(w, "  %s  %s  (%s)\n", f.ID, f.Path, f.Type)
	if f.InSync {
		fmt.Fprintf(w, "    %-9s in sync, %s\n", f.State, filesAndBytes(f.LocalFiles, f.LocalBytes))
	} else {
		fmt.Fprintf(w, "    %-9s %s %s  %s left\n", f.State, progressBar(f, 24), percent(f), filesAndBytes(f.NeedFiles, f.NeedBytes))
		if f.InRate > 0 {
			fmt.Fprintf(w, "    rate      %s", formatRate(f.InRate))
			if f.ETA > 0 {
				fmt.Fprintf(w, ", about %s left", formatETA(f.ETA))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "    global    %s\n", filesAndBytes(f.GlobalFiles, f.GlobalBytes))
		printPulling(w, f)
	}
	if f.Conflicts > 0 {
		fmt.Fprintf(w, "    conflicts %d (files named *.conflict-*)\n", f.Conflicts)
	}
	if len(f.Devices) > 0 {
		fmt.Fprintf(w, "    shared    %s\n", strings.Join(abbrevs(f.Devices), ", "))
	}
	if f.State == "upgrading" {
		fmt.Fprintf(w, "    upgrading the index written by an older version: %d names done; the counts above are partial until then\n", f.Upgraded)
	}
	printHeld(w, f)
	printApart(w, f)
	for _, e := range f.Errors {
		fmt.Fprintf(w, "    error     %s\n", e)
	}
}

// printPulling lists the files being pulled now, each with its progress.
func printPulling(w io.Writer, f web.FolderStatus) {
	for _, p := range f.Pulling {
		fmt.Fprintf(w, "    pulling   %s  %s of %s\n", printable(p.Name), filePercent(p), formatBytes(p.Size))
	}
	if n := f.PullingFiles - len(f.Pulling); n > 0 {
		fmt.Fprintf(w, "              ... and %d more being pulled\n", n)
	}
}

// printable is name as it is, or quoted when it holds characters that a
// terminal would not show as they are: a peer chooses the names.
func printable(name string) string {
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return strconv.Quote(name)
		}
	}
	return name
}

// filePercent is how much of a file being pulled is in place.
func filePercent(p web.PullProgress) string {
	if p.Size <= 0 {
		return percentOf(0)
	}
	return percentOf(float64(p.Done) / float64(p.Size))
}

// printHeld explains held deletions and a mass change, and the ways out.
func printHeld(w io.Writer, f web.FolderStatus) {
	if f.HeldLocal > 0 {
		fmt.Fprintf(w, "    held      %d files vanished here at once; their deletion was not sent\n", f.HeldLocal)
	}
	if f.HeldRemote > 0 {
		fmt.Fprintf(w, "    held      another device deleted %d files at once; they are kept here\n", f.HeldRemote)
	}
	if f.HeldLocal+f.HeldRemote > 0 {
		for _, name := range f.HeldSample {
			fmt.Fprintf(w, "              %s\n", name)
		}
		if n := f.HeldLocal + f.HeldRemote - len(f.HeldSample); n > 0 {
			fmt.Fprintf(w, "              ... and %d more\n", n)
		}
		fmt.Fprintf(w, "              delete them everywhere: ferry folder confirm-deletes %s\n", f.ID)
		fmt.Fprintf(w, "              bring them back:        ferry folder revert %s\n", f.ID)
	}
	if f.MassChange > 0 {
		fmt.Fprintf(w, "    warning   %d files were rewritten at once; if that was not you, check them (clear the warning: ferry folder resume %s)\n", f.MassChange, f.ID)
	}
}

// printApart lists what the folder's type keeps apart from the others.
func printApart(w io.Writer, f web.FolderStatus) {
	if f.Apart == 0 {
		return
	}
	if f.Type == "receive-only" {
		fmt.Fprintf(w, "    changed   %d files were changed here; a receive-only folder does not send them\n", f.Apart)
	} else {
		fmt.Fprintf(w, "    differs   %d files were changed elsewhere; a send-only folder does not take them\n", f.Apart)
	}
	for _, name := range f.ApartSample {
		fmt.Fprintf(w, "              %s\n", name)
	}
	if n := f.Apart - len(f.ApartSample); n > 0 {
		fmt.Fprintf(w, "              ... and %d more\n", n)
	}
}

// printReach says how the internet reaches this device.
func printReach(w io.Writer, d web.ThisDevice) {
	if d.External != "" {
		fmt.Fprintf(w, "  external  %s (%s port mapping)\n", d.External, d.Mapping)
	} else {
		fmt.Fprintf(w, "  external  no port mapped on the router\n")
	}
	if d.DHT != nil {
		fmt.Fprintf(w, "  dht       on at %s, %d nodes (%d answer)\n", d.DHT.Addr, d.DHT.Nodes, d.DHT.GoodNodes)
	} else {
		fmt.Fprintf(w, "  dht       off\n")
	}
	if d.Relay.On {
		fmt.Fprintf(w, "  relay     on: %d relayed now, %s forwarded\n", d.Relay.Streams, formatBytes(d.Relay.Forwarded))
	} else {
		fmt.Fprintf(w, "  relay     off\n")
	}
}

func printDeviceStatus(w io.Writer, d web.DeviceStatus, names map[string]string) {
	fmt.Fprintf(w, "  %s  (%s)\n", d.ID, orDash(d.Name))
	if d.Connected {
		where := d.Address
		switch {
		case d.Via == "relay":
			where = "through " + orDash(names[d.Relay]) + " (relay " + d.Relay + ")"
		case d.Via != "":
			where += " (" + d.Via + ")"
		}
		fmt.Fprintf(w, "    connected %s   in %s  out %s\n", where, formatRate(d.InRate), formatRate(d.OutRate))
	} else {
		fmt.Fprintf(w, "    not connected\n")
	}
	fmt.Fprintf(w, "    received  %s, sent %s\n", formatBytes(d.InBytes), formatBytes(d.OutBytes))
}

// done is the fraction of a folder's global bytes present here.
func done(f web.FolderStatus) float64 {
	if f.GlobalBytes <= 0 {
		if f.GlobalFiles <= 0 {
			return 1
		}
		return float64(max(f.GlobalFiles-f.NeedFiles, 0)) / float64(f.GlobalFiles)
	}
	return min(max(float64(f.GlobalBytes-f.NeedBytes)/float64(f.GlobalBytes), 0), 1)
}

func percent(f web.FolderStatus) string { return percentOf(done(f)) }

// percentOf renders the fraction done as a percent.
func percentOf(done float64) string {
	p := min(max(done, 0), 1) * 100
	if p > 99 && p < 100 {
		p = 99 // never round an unfinished sync up to 100 %
	}
	return fmt.Sprintf("%3.0f%%", p)
}

// progressBar draws done(f) as a bar of width cells.
func progressBar(f web.FolderStatus, width int) string {
	n := int(done(f) * float64(width))
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "]"
}

func formatRate(bps float64) string {
	return formatBytes(int64(bps)) + "/s"
}

// formatETA renders seconds as 45s, 3m20s or 2h05m.
func formatETA(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
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
