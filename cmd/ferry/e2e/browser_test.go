package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ferry/web/webtest/browser"
)

// uiWait bounds each wait for a daemon's UI to show something.
const uiWait = 20 * time.Second

// TestPairAndShareInBrowser is the web UI story on two real daemons, in a
// real browser: pair by reading the code off A's page and typing it into
// B's, see B connected on A's page, then add and share a folder on both
// pages and see a file arrive.
func TestPairAndShareInBrowser(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	writeFile(t, a.path("from-a.txt"), []byte("paired in a browser"), 0o644)
	a.start()
	b.start()
	tabA := browser.New(t)
	tabB, closeB := chromedp.NewContext(tabA) // a second tab in the same browser
	defer closeB()
	ui(t, tabA, chromedp.Navigate(a.uiURL()))
	ui(t, tabB, chromedp.Navigate(b.uiURL()))
	uiText(t, tabA, "#device-id", a.id)
	uiText(t, tabB, "#device-id", b.id)

	// Pair: A shows a code (offering docs), B enters it with A's address.
	ui(t, tabA,
		chromedp.Click(chromedp.CSS(`#pair-folders input[value="docs"]`)),
		chromedp.Click(chromedp.CSS("#pair-show")))
	uiText(t, tabA, "#pair-state", "waiting")
	code := uiRead(t, tabA, "#pair-code")
	// B already has a folder with the ID docs: the page shows it with its
	// path, and B joins A's docs into it only because it is ticked.
	into := t.TempDir()
	mine := `#join-existing [data-folder-id="docs"]`
	uiText(t, tabB, mine, "docs ("+b.folder+")")
	ui(t, tabB,
		chromedp.SendKeys(chromedp.CSS("#join-code"), code),
		chromedp.SendKeys(chromedp.CSS("#join-addr"), a.listen),
		chromedp.SendKeys(chromedp.CSS("#join-into"), into),
		chromedp.Click(chromedp.CSS(mine+" input")),
		chromedp.Click(chromedp.CSS("#join-submit")))
	uiText(t, tabB, "#join-result", "Paired with")
	uiText(t, tabB, "#join-result", "docs → "+b.folder)
	uiText(t, tabA, "#pair-state", "paired with")
	uiText(t, tabA, `#devices [data-device-id="`+b.id+`"] .connected`, "connected")
	uiText(t, tabB, `#devices [data-device-id="`+a.id+`"] .connected`, "connected")
	waitFor(t, uiWait, "from-a.txt on B", func() bool { return sameContent(b.path("from-a.txt"), []byte("paired in a browser")) })

	// Add a folder "photos" on both pages and share it with the other device.
	photosA, photosB := filepath.Join(t.TempDir(), "photos-a"), filepath.Join(t.TempDir(), "photos-b")
	for _, side := range []struct {
		tab  context.Context
		peer string
		dir  string
	}{{tabA, b.id, photosA}, {tabB, a.id, photosB}} {
		if err := os.MkdirAll(side.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		ui(t, side.tab,
			chromedp.SendKeys(chromedp.CSS("#folder-add-path"), side.dir),
			chromedp.SendKeys(chromedp.CSS("#folder-add-id"), "photos"),
			chromedp.Click(chromedp.CSS("#folder-add-submit")))
		uiText(t, side.tab, "#folder-add-result", "Added folder photos")
		row := `#folders [data-folder-id="photos"] `
		uiWaitJS(t, side.tab, `document.querySelector('`+row+`.share-device option[value="`+side.peer+`"]')`)
		ui(t, side.tab,
			chromedp.SetValue(chromedp.CSS(row+".share-device"), side.peer),
			chromedp.Click(chromedp.CSS(row+".share-submit")))
		uiText(t, side.tab, row+".share-result", "shared")
	}
	writeFile(t, filepath.Join(photosA, "beach.jpg"), randomBytes(7, 300<<10), 0o644)
	waitFor(t, uiWait, "beach.jpg on B", func() bool {
		return sameContent(filepath.Join(photosB, "beach.jpg"), randomBytes(7, 300<<10))
	})
	uiText(t, tabB, `#folders [data-folder-id="photos"] .sync-text`, "in sync")
}

func ui(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func uiText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	if _, err := browser.WaitText(ctx, sel, want, uiWait); err != nil {
		t.Fatal(err)
	}
}

func uiWaitJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if err := browser.Wait(ctx, expr, uiWait); err != nil {
		t.Fatal(err)
	}
}

func uiRead(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := browser.Text(ctx, sel)
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}
