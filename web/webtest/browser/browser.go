package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables New reads.
const (
	// RequireEnv, when set to anything, makes a missing browser a failure.
	RequireEnv = "FERRY_REQUIRE_BROWSER"
	// PathEnv names the browser to run instead of DefaultPath.
	PathEnv = "FERRY_BROWSER"
)

// DefaultPath is where Debian's chromium package puts the browser.
const DefaultPath = "/usr/bin/chromium"

// Timeout bounds everything a test does with one browser.
const Timeout = 60 * time.Second

// New starts a headless browser for t and returns the context of its one
// tab, bounded by Timeout. The browser stops when t ends. Uncaught
// JavaScript exceptions and Content-Security-Policy violations in the page
// fail t; other console errors are logged.
func New(t testing.TB) context.Context {
	t.Helper()
	path := findBrowser(t)
	allocCtx, stopBrowser := chromedp.NewExecAllocator(context.Background(), options(path)...)
	tabCtx, closeTab := chromedp.NewContext(allocCtx)
	t.Cleanup(stopBrowser)
	t.Cleanup(closeTab)
	// The browser lives as long as the context that starts it: start it
	// with one that has no deadline.
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("start the browser %s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(tabCtx, Timeout)
	con := &console{}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		con.read(messages)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		con.report(t)
	})
	return ctx
}

// findBrowser returns the browser's path, or skips or fails t without one.
func findBrowser(t testing.TB) string {
	t.Helper()
	path := DefaultPath
	if p := os.Getenv(PathEnv); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("no browser at %s (%v); install it with: apt-get install -y chromium", path, err)
		}
		t.Skipf("no browser at %s; install chromium (or set %s) to run this test", path, PathEnv)
	}
	return path
}

func options(path string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests may run as root, where the sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-background-networking", true),
	)
}

// console collects what the page wrote to its console.
type console struct {
	mu       sync.Mutex
	problems []string // exceptions and policy violations
	errors   []string // other console errors
}

func (c *console) read(messages iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range messages {
		if err != nil {
			return
		}
		c.mu.Lock()
		switch {
		case m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy"):
			c.problems = append(c.problems, m.String())
		case m.Type == chromedp.ConsoleError:
			c.errors = append(c.errors, m.String())
		}
		c.mu.Unlock()
	}
}

func (c *console) report(t testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.errors {
		t.Logf("browser console: %s", e)
	}
	for _, p := range c.problems {
		t.Errorf("browser console: %s", p)
	}
}

// Text returns the text content of the first element sel (a CSS selector)
// matches, waiting for one to exist.
func Text(ctx context.Context, sel string) (string, error) {
	return chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
}

// Wait waits until the JavaScript expression expr is truthy in the page.
func Wait(ctx context.Context, expr string, timeout time.Duration) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")",
		chromedp.WithPollingInterval(25*time.Millisecond),
		chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		return fmt.Errorf("wait for %s: %w", expr, err)
	}
	return nil
}

// WaitText waits until the text content of the first element sel matches
// contains want, and returns that text. On timeout the error tells what the
// element held.
func WaitText(ctx context.Context, sel, want string, timeout time.Duration) (string, error) {
	got, err := chromedp.Run(ctx, chromedp.PollFunction[string](
		`(sel, want) => { const e = document.querySelector(sel); return e && e.textContent.includes(want) ? e.textContent : null; }`,
		chromedp.WithPollingArgs(sel, want),
		chromedp.WithPollingInterval(25*time.Millisecond),
		chromedp.WithPollingTimeout(timeout)))
	if err == nil {
		return got, nil
	}
	quoted, _ := json.Marshal(sel) // a JavaScript string literal
	last, terr := chromedp.Run(ctx, chromedp.Evaluate[*string](
		fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e ? e.textContent : null; })()`, quoted)))
	switch {
	case terr != nil:
		return "", fmt.Errorf("wait for %q in %s: %w", want, sel, errors.Join(err, terr))
	case last == nil:
		return "", fmt.Errorf("wait for %q in %s: no such element: %w", want, sel, err)
	}
	return "", fmt.Errorf("wait for %q in %s, which holds %q: %w", want, sel, *last, err)
}
