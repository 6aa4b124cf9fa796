package main

import "fmt"

var helpUsage = usage{
	name: "help", synopsis: "[COMMAND [SUBCOMMAND]]",
	help: "Show ferry's commands, or one command's arguments and flags (e.g. `ferry help folder set`).",
}

func runHelp(g *globals, args []string) int {
	pos, code, ok := g.parse(helpUsage, newFlagSet("help"), args, 0, 2)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		printMainUsage(g.stdout)
		return exitOK
	}
	cmd, found := lookupCommand(pos[0])
	if !found {
		fmt.Fprintf(g.stderr, "ferry help: unknown command %q\n", pos[0])
		printMainUsage(g.stderr)
		return exitUsage
	}
	// Every command prints its own usage on --help and needs no home for it.
	return cmd.run(g, append(pos[1:], "--help"))
}
