package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ferry/web/webtest/browser"
)

// TestHistoryInBrowser is the history story on two real daemons, in a real
// browser on B's page. A deletes one file and edits another; B kept what
// those changes replaced. On B's page: the folder as it was just before
// them lists the deleted file, whose Restore brings it back; the edited
// file's old version comes back from its list of versions; the whole
// folder as it was goes into a new directory typed into the page; and, once
// confirmed, in place, with a file made since removed. Each comes back byte
// for byte on disk, and in place reaches A.
func TestHistoryInBrowser(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	gone, draft := randomBytes(1, 70<<10), []byte("first draft\n")
	writeFile(t, a.path("gone.bin"), gone, 0o644)
	writeFile(t, a.path("draft.txt"), draft, 0o644)
	writeFile(t, a.path("notes/keep.bin"), randomBytes(3, 5000), 0o600)
	pair(a, b)
	a.start()
	b.start()
	converge(t, 20*time.Second, a, b)
	then := files(snapshot(t, a.folder))

	if err := os.Remove(a.path("gone.bin")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, a.path("draft.txt"), []byte("second draft, longer\n"), 0o644)
	converge(t, 20*time.Second, a, b)
	// Made after every moment B kept: not part of the folder then.
	writeFile(t, a.path("later.txt"), []byte("made later\n"), 0o644)
	converge(t, 20*time.Second, a, b)

	tab := browser.New(t)
	ui(t, tab, chromedp.Navigate(b.uiURL()))
	ui(t, tab, chromedp.Click(chromedp.CSS(`#folders [data-folder-id="docs"] .history-open`)))
	uiText(t, tab, "#history-folder", "docs")
	row := func(name string) string { return `#history-body tr[data-name="` + name + `"] ` }
	// It opens on the folder as it is now: the deleted file is not there.
	uiText(t, tab, row("later.txt")+".kind", "current")
	uiWaitJS(t, tab, `!document.querySelector('`+row("gone.bin")+`')`)

	// The oldest moment: just before A's changes replaced anything on B.
	uiWaitJS(t, tab, `document.querySelectorAll('#history-moments li').length >= 2`)
	ui(t, tab, chromedp.Click(chromedp.CSS(`#history-moments li:last-child button`)))
	uiText(t, tab, "#history-when", "just before")
	uiText(t, tab, row("gone.bin")+".kind", "deleted")
	uiText(t, tab, row("gone.bin")+".by", "by A")
	uiText(t, tab, row("draft.txt")+".kind", "edited")
	uiText(t, tab, row("draft.txt")+".size", "12 B")
	uiText(t, tab, row("notes/keep.bin")+".kind", "current")
	uiWaitJS(t, tab, `document.querySelector('`+row("notes/keep.bin")+`.restore').disabled && !document.querySelector('`+row("later.txt")+`')`)

	ui(t, tab, chromedp.Click(chromedp.CSS(row("gone.bin")+".restore")))
	uiText(t, tab, row("gone.bin")+".result", "restored 72 kB to "+b.path("gone.bin"))
	waitFor(t, uiWait, "gone.bin back on B", func() bool { return sameContent(b.path("gone.bin"), gone) })

	// The edited file's versions: the current one first, then the one A's
	// edit replaced, which comes back in place.
	ui(t, tab, chromedp.Click(chromedp.CSS(row("draft.txt")+".versions")))
	uiText(t, tab, "#history-versions-name", "draft.txt")
	uiText(t, tab, "#history-versions-body tr:first-child .kind", "current")
	kept := "#history-versions-body tr:nth-child(2) "
	uiText(t, tab, kept+".kind", "edited")
	uiText(t, tab, kept+".size", "12 B")
	ui(t, tab, chromedp.Click(chromedp.CSS(kept+".restore")))
	uiText(t, tab, "#history-versions-msg", "restored 12 B")
	waitFor(t, uiWait, "the first draft back on B", func() bool { return sameContent(b.path("draft.txt"), draft) })
	converge(t, 20*time.Second, a, b)
	if !sameContent(a.path("gone.bin"), gone) || !sameContent(a.path("draft.txt"), draft) {
		t.Fatal("the files restored on B did not reach A as they were")
	}

	// Everything as it was, into a new directory typed into the page.
	out := filepath.Join(t.TempDir(), "then")
	ui(t, tab,
		chromedp.SendKeys(chromedp.CSS("#history-to"), out),
		chromedp.Click(chromedp.CSS("#history-restore-all")))
	uiText(t, tab, "#history-all-result", "restored 3 files, 77 kB into "+out)
	if diff := compare(then, files(snapshot(t, out))); diff != "" {
		t.Fatalf("the folder restored into %s is not the folder then: %s", out, diff)
	}
	// Again into the same directory: the daemon refuses, in the last line
	// of its answer, and the page says why.
	ui(t, tab, chromedp.Click(chromedp.CSS("#history-restore-all")))
	uiText(t, tab, `#history-all-result[data-state="error"]`, out+" is not empty")

	// Everything in place, removing what was made since: only once the
	// page's own confirmation is answered.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('history-to').value = ''`)); err != nil {
		t.Fatal(err)
	}
	ui(t, tab,
		chromedp.Click(chromedp.CSS("#history-exact")),
		chromedp.Click(chromedp.CSS("#history-restore-all")))
	uiText(t, tab, "#history-confirm-text", "Files made after that moment are removed")
	uiWaitJS(t, tab, `document.getElementById('history-all-result').hidden`)
	if _, err := os.Stat(b.path("later.txt")); err != nil {
		t.Fatalf("later.txt on B before the restore was confirmed: %v", err)
	}
	ui(t, tab, chromedp.Click(chromedp.CSS("#history-confirm-yes")))
	uiText(t, tab, "#history-all-result", "3 files already as they were; removed 1 file made after")
	converge(t, 20*time.Second, a, b)
	if diff := compare(then, files(snapshot(t, a.folder))); diff != "" {
		t.Fatalf("A after B restored the folder in place: %s", diff)
	}
}
