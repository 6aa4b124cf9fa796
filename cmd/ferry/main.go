package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"ferry/platform"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// globals is what every command gets: the resolved home directory and where
// to print.
type globals struct {
	home    string // absolute; empty only for commands that need no home
	homeSet bool   // home came from --home or $FERRY_HOME, not the default
	stdout  io.Writer
	stderr  io.Writer
	json    bool // a service command prints JSON
	// startedAt is the API address of the service install started.
	startedAt string
}

// command is one top-level command.
type command struct {
	name     string
	synopsis string
	summary  string
	noHome   bool // runs without resolving the home directory
	run      func(g *globals, args []string) int
}

func commands() []command {
	return []command{
		{name: "serve", synopsis: "[--listen ADDR] [--gui ADDR]", summary: "run the daemon in the foreground", run: runServe},
		{name: "id", summary: "print this device's ID", run: runID},
		{name: "device", synopsis: "add|list|set|rename|pause|resume|remove ...", summary: "manage trusted devices", run: runDevice},
		{name: "folder", synopsis: "add|list|set|share|unshare|pause|resume|remove|offered|accept ...", summary: "manage synced folders", run: runFolder},
		{name: "scan", synopsis: "FOLDER-ID [PATH]", summary: "scan a folder now and wait until done", run: runScan},
		{name: "versions", synopsis: "PATH", summary: "list the versions of a file this device keeps", run: runVersions},
		{name: "restore", synopsis: "PATH|--folder ID --at TIME [--to DIR]", summary: "bring back a file or a whole folder as it was", run: runRestore},
		{name: "conflicts", synopsis: "[FOLDER-ID] [--json]", summary: "list the conflict copies kept when two devices changed a file", run: runConflicts},
		{name: "status", synopsis: "[--json] [--watch]", summary: "show the running daemon's folders and devices", run: runStatus},
		{name: "ui", synopsis: "[--print]", summary: "open the web UI in a browser, signed in", run: runUI},
		{name: "pair", synopsis: "[CODE]", summary: "pair with another device by a short code", run: runPair},
		{name: "install", synopsis: "[--system]", summary: "install and start ferry as a service started at login (--system: at boot)", run: runInstall},
		{name: "uninstall", synopsis: "[--system]", summary: "stop and remove the service", run: runUninstall},
		{name: "start", synopsis: "[--system]", summary: "start the installed service", run: runStart},
		{name: "stop", synopsis: "[--system]", summary: "stop the installed service", run: runStop},
		{name: "service", synopsis: "status [--system]", summary: "show whether the service runs", run: runService},
		{name: "log", synopsis: "[-f] [-n N] [--system]", summary: "print the service's log (-f: follow it)", run: runLog},
		{name: "help", synopsis: "[COMMAND]", summary: "show help for ferry or a command", noHome: true, run: runHelp},
		{name: "version", summary: "print ferry's version", noHome: true, run: runVersion},
	}
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run parses the global flags and dispatches to a command. It is main
// without the process: tests call it directly.
func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("ferry", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	home := fs.String("home", "", "the home `DIR`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printMainUsage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		printMainUsage(stderr)
		return exitUsage
	}
	if fs.NArg() == 0 {
		printMainUsage(stderr)
		return exitUsage
	}
	cmd, ok := lookupCommand(fs.Arg(0))
	if !ok {
		fmt.Fprintf(stderr, "ferry: unknown command %q\n", fs.Arg(0))
		printMainUsage(stderr)
		return exitUsage
	}
	if !cmd.noHome {
		h, err := resolveHome(*home)
		if err != nil {
			return g.fail("find home directory", err, "pass --home DIR or set FERRY_HOME")
		}
		g.home = h
		g.homeSet = *home != "" || os.Getenv("FERRY_HOME") != ""
	}
	return cmd.run(g, fs.Args()[1:])
}

// resolveHome returns the home directory: flag, else $FERRY_HOME, else the
// OS user config directory; always absolute.
func resolveHome(flagValue string) (string, error) {
	h := flagValue
	if h == "" {
		var err error
		if h, err = platform.DefaultHome(); err != nil {
			return "", err
		}
	}
	return filepath.Abs(h)
}

func printMainUsage(w io.Writer) {
	fmt.Fprint(w, `usage: ferry [--home DIR] COMMAND [ARGS]

ferry keeps folders in sync across your devices, peer to peer.

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.name, c.synopsis, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
The home directory holds this device's key and configuration: --home DIR,
else $FERRY_HOME, else "ferry" in the user's config directory.
Run 'ferry help COMMAND' for a command's arguments and flags.
`)
}
