package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"ferry/platform"
	"ferry/web"
)

var uiUsage = usage{
	name:     "ui",
	synopsis: "[--print [--json]]",
	help: "Open the running daemon's web UI in this machine's browser, signed in.\n" +
		"The address carries the API key (after #, so it is never sent over the network or logged);\n" +
		"whoever has it controls ferry, so keep it to yourself. --print only prints it.",
}

// uiOpenFile is the page in the home directory that sends the browser on
// to the signed-in address: a browser started with the address itself
// would show the key to every user on the machine in its command line.
const uiOpenFile = "ui-open.html"

func runUI(g *globals, args []string) int {
	fs := newFlagSet("ui")
	printOnly := fs.Bool("print", false, "print the address instead of opening a browser")
	asJSON := jsonFlag(fs, "{url}, with --print")
	if _, code, ok := g.parse(uiUsage, fs, args, 0, 0); !ok {
		return code
	}
	c, addr, code, ok := g.mustDaemon("ui")
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		return g.apiFail("ui", addr, err)
	}
	key, err := web.ReadAPIKey(g.home)
	if err != nil {
		return g.fail("ui", err, "")
	}
	link := uiURL(addr, key)
	if *printOnly && *asJSON {
		return g.printJSON(map[string]string{"url": link})
	}
	if *printOnly {
		fmt.Fprintln(g.stdout, link)
		return exitOK
	}
	if err := openBrowser(g.home, link); err != nil {
		fmt.Fprintf(g.stderr, "ferry ui: cannot open a browser (%v); open this address in a browser on this machine:\n", err)
		fmt.Fprintln(g.stdout, link)
		return exitOK
	}
	fmt.Fprintf(g.stdout, "opened the web UI at http://%s/ in your browser\n", addr)
	return exitOK
}

// uiURL is the web UI's address at addr, signed in with key.
func uiURL(addr, key string) string {
	return "http://" + addr + "/#key=" + url.QueryEscape(key)
}

// openBrowser opens link in the user's browser through a private page in
// home that redirects to it.
func openBrowser(home, link string) error {
	page := fmt.Sprintf("<!doctype html>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"0;url=%s\">\n<title>ferry</title>\n<p><a href=\"%[1]s\">Open ferry</a></p>\n", html.EscapeString(link))
	name := filepath.Join(home, uiOpenFile)
	if err := platform.WriteFileAtomic(name, []byte(page), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	fileURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(name)}).String()
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", fileURL)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", fileURL)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return errors.New("no graphical session")
		}
		cmd = exec.Command("xdg-open", fileURL)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go cmd.Wait()
	return nil
}
