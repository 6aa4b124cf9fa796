package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

var versionUsage = usage{name: "version", synopsis: "[--json]", help: "Print ferry's version, the Go version and the platform."}

func runVersion(g *globals, args []string) int {
	fs := newFlagSet("version")
	asJSON := jsonFlag(fs, "{version, go, os, arch}")
	if _, code, ok := g.parse(versionUsage, fs, args, 0, 0); !ok {
		return code
	}
	if *asJSON {
		return g.printJSON(map[string]string{"version": buildVersion(), "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH})
	}
	fmt.Fprintf(g.stdout, "ferry %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// buildVersion is the module version, or the VCS revision of a development
// build, or "devel".
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if dirty {
		return "devel-" + rev[:min(12, len(rev))] + "-dirty"
	}
	return "devel-" + rev[:min(12, len(rev))]
}
