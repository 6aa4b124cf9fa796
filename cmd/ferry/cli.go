package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// usage describes one command for its help text.
type usage struct {
	name     string // as typed after "ferry", e.g. "device add"
	synopsis string // arguments and flags, e.g. "ID [--name NAME]"
	help     string // what it does, one paragraph
}

// newFlagSet returns a flag set that reports errors to its caller only.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags and between minArgs and maxArgs positional arguments (maxArgs < 0:
// no limit), flags and arguments in any order. On -h it prints the usage to
// stdout; on a usage error it prints the problem and the usage to stderr. ok
// is false in both cases and code is the exit code to return.
func (g *globals) parse(u usage, fs *flag.FlagSet, args []string, minArgs, maxArgs int) (pos []string, code int, ok bool) {
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		u.print(g.stdout, fs)
		return nil, exitOK, false
	}
	switch {
	case err != nil:
	case len(pos) < minArgs:
		err = errors.New("missing arguments")
	case maxArgs >= 0 && len(pos) > maxArgs:
		err = fmt.Errorf("unexpected argument %q", pos[maxArgs])
	}
	if err != nil {
		return nil, g.usageError(u, fs, err), false
	}
	return pos, exitOK, true
}

// usageError prints a usage problem and the usage, and returns exitUsage.
func (g *globals) usageError(u usage, fs *flag.FlagSet, err error) int {
	fmt.Fprintf(g.stderr, "ferry %s: %v\n", u.name, err)
	u.print(g.stderr, fs)
	return exitUsage
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, which it returns in order. "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (u usage) print(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: ferry %s %s\n", u.name, u.synopsis)
	if u.help != "" {
		fmt.Fprintf(w, "\n%s\n", u.help)
	}
	if fs == nil {
		return
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nflags:")
			first = false
		}
		arg, text := flag.UnquoteUsage(f)
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		fmt.Fprintf(w, "  %s%s %s\n        %s\n", dashes, f.Name, arg, text)
	})
}

// fail prints one line, "ferry: WHAT: WHY. HINT", and returns exitError.
func (g *globals) fail(what string, err error, hint string) int {
	msg := strings.TrimRight(oneLine(err.Error()), ".")
	if hint != "" {
		msg += ". " + hint
	}
	fmt.Fprintf(g.stderr, "ferry: %s: %s\n", what, msg)
	return exitError
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// group dispatches a command with subcommands, such as "device add".
type group struct {
	name string
	subs []subcommand
}

type subcommand struct {
	usage
	run func(g *globals, args []string) int
}

func (gr group) run(g *globals, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(g.stderr, "ferry %s: missing command\n", gr.name)
		gr.print(g.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		gr.print(g.stdout)
		return exitOK
	}
	for _, s := range gr.subs {
		if s.name == gr.name+" "+args[0] {
			return s.run(g, args[1:])
		}
	}
	fmt.Fprintf(g.stderr, "ferry %s: unknown command %q\n", gr.name, args[0])
	gr.print(g.stderr)
	return exitUsage
}

func (gr group) print(w io.Writer) {
	fmt.Fprintf(w, "usage:\n")
	for _, s := range gr.subs {
		fmt.Fprintf(w, "  ferry %s %s\n", s.name, s.synopsis)
	}
	fmt.Fprintf(w, "\nRun 'ferry help %s COMMAND' for its flags.\n", gr.name)
}
