package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ferry/web/webtest/browser"
)

// TestResolveConflictsInBrowser resolves two real conflicts on B's page,
// on a phone-sized screen: "Keep this one" on A's version of one.txt, only
// once the page's confirmation is answered, and "Keep both" for two.txt.
// Both devices end up with the files kept, and the page fits the screen.
func TestResolveConflictsInBrowser(t *testing.T) {
	a, b := makeConflicts(t, "one.txt", "two.txt")
	tab := browser.New(t)
	ui(t, tab, chromedp.EmulateViewport(360, 740), chromedp.Navigate(b.uiURL()))
	card := func(stem string) string { return `#conflicts-list [data-copy^="` + stem + `.conflict-"] ` }
	uiText(t, tab, "#conflicts-count", "2 files")
	uiText(t, tab, card("one")+".file", "one.txt")
	uiText(t, tab, card("one")+".version.copy .by", "by A")
	uiText(t, tab, card("one")+".version.copy .when", "10 B")
	uiText(t, tab, card("one")+".version.original .when", "10 B")
	// The conflicts fit the screen: nothing in them reaches past its right
	// edge or overflows its box, so they need no sideways scrolling.
	uiWaitJS(t, tab, `[...document.querySelectorAll('#conflicts-section, #conflicts-section *')].every(e =>
		e.getBoundingClientRect().right <= window.innerWidth && (e.clientWidth === 0 || e.scrollWidth <= e.clientWidth + 1))`)

	// Keep this one, on the copy: nothing happens before the confirmation.
	ui(t, tab, chromedp.Click(chromedp.CSS(card("one")+".version.copy .keep")))
	uiText(t, tab, card("one")+".confirm-text", "leaves the folder on every device")
	time.Sleep(300 * time.Millisecond)
	if got, _ := os.ReadFile(b.path("one.txt")); string(got) != "B: one.txt" {
		t.Fatalf("one.txt changed before the confirmation: %q", got)
	}
	ui(t, tab, chromedp.Click(chromedp.CSS(card("one")+".confirm-yes")))
	uiText(t, tab, "#conflicts-msg", "Kept the conflict copy as one.txt")
	uiWaitJS(t, tab, `!document.querySelector('`+card("one")+`')`)
	waitFor(t, uiWait, "A's one.txt on B", func() bool { return sameContent(b.path("one.txt"), []byte("A: one.txt")) })

	// Keep both: no confirmation, since no version leaves the folder.
	ui(t, tab, chromedp.Click(chromedp.CSS(card("two")+".keep-both")))
	uiText(t, tab, "#conflicts-msg", "Kept both: the copy is now two (A ")
	msg := uiRead(t, tab, "#conflicts-msg")
	both := strings.TrimSuffix(strings.TrimPrefix(msg, "Kept both: the copy is now "), ".")
	uiWaitJS(t, tab, `document.querySelectorAll('#conflicts-list .conflict').length === 0`)

	converge(t, time.Minute, a, b)
	for _, d := range []*device{a, b} {
		for name, want := range map[string]string{"one.txt": "A: one.txt", "two.txt": "B: two.txt", both: "A: two.txt"} {
			if got, _ := os.ReadFile(d.path(name)); string(got) != want {
				t.Errorf("%s: %s holds %q, want %q", d.name, name, got, want)
			}
		}
		if stray := strayNames(t, d.folder, ".conflict-"); len(stray) != 0 {
			t.Errorf("%s: conflict copies left: %q", d.name, stray)
		}
	}
	if got := b.restoreKept("one.txt"); got != "B: one.txt" {
		t.Errorf("B restores one.txt as %q, want the version it replaced", got)
	}
}
