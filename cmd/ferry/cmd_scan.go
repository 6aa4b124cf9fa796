package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"ferry/engine/config"
)

var scanUsage = usage{
	name:     "scan",
	synopsis: "FOLDER-ID [PATH]",
	help: "Scan a folder now, or only PATH inside it, and return when the changes found are applied.\n" +
		"PATH is relative to the folder, or an absolute path inside it. Needs a running daemon.",
}

func runScan(g *globals, args []string) int {
	pos, code, ok := g.parse(scanUsage, newFlagSet("scan"), args, 1, 2)
	if !ok {
		return code
	}
	folder, sub := pos[0], ""
	if len(pos) == 2 {
		var err error
		if sub, err = folderRelative(g.home, folder, pos[1]); err != nil {
			return g.usageError(scanUsage, nil, err)
		}
	}
	c, addr, code, ok := g.mustDaemon("scan")
	if !ok {
		return code
	}
	if err := c.Scan(context.Background(), folder, sub); err != nil {
		return g.fail("scan", explainAPIError(g.home, addr, err), hintIfNotFound(err, "See `ferry folder list`"))
	}
	return exitOK
}

// folderRelative turns PATH into a slash-separated path relative to the
// folder: an absolute path must lie inside the folder's directory.
func folderRelative(home, folder, path string) (string, error) {
	if !filepath.IsAbs(path) {
		return wholeIfDot(filepath.ToSlash(filepath.Clean(path))), nil
	}
	cfg, err := config.Load(home)
	if err != nil {
		return "", err
	}
	f, ok := cfg.Folder(folder)
	if !ok {
		return "", fmt.Errorf("folder %q does not exist", folder)
	}
	rel, err := filepath.Rel(f.Path, filepath.Clean(path))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", errors.New(path + " is not inside folder " + folder + " (" + f.Path + ")")
	}
	return wholeIfDot(filepath.ToSlash(rel)), nil
}

// wholeIfDot maps the folder root "." to "", the whole folder.
func wholeIfDot(rel string) string {
	if rel == "." {
		return ""
	}
	return rel
}
