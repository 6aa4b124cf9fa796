package web_test

import (
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"ferry/web"
	"ferry/web/webtest"
	"ferry/web/webtest/browser"
)

// TestPullProgressInBrowser: a folder's card shows its progress in bytes
// and the file being pulled now with its own percent, follows both as they
// grow, and hides the file once the folder is in sync.
func TestPullProgressInBrowser(t *testing.T) {
	st := browserStatus()
	docs := &st.Folders[len(st.Folders)-1]
	docs.GlobalBytes, docs.NeedBytes = 4_000_000_000, 3_000_000_000
	docs.Pulling = []web.PullProgress{{Name: "films/holiday.mkv", Size: 2_000_000_000, Done: 500_000_000}}
	docs.PullingFiles = 3
	b := webtest.New(st)
	srv := httptest.NewServer(web.NewServer(b, testKey, nil))
	t.Cleanup(srv.Close)
	ctx := browser.New(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/#key="+testKey))

	card := `#folders [data-folder-id="docs"] `
	waitText(t, ctx, card+".sync-text", "25%")
	wait(t, ctx, `document.querySelector('`+card+`.sync progress').value === 25`)
	waitText(t, ctx, card+".pulling-text", "Pulling films/holiday.mkv: 25% of 2.0 GB")
	waitText(t, ctx, card+".pulling-more", "and 2 more files")
	wait(t, ctx, `document.querySelector('`+card+`.pulling-bar').value === 25`)

	docs.NeedBytes, docs.Pulling[0].Done, docs.PullingFiles = 2_000_000_000, 1_500_000_000, 1
	b.SetStatus(st)
	waitText(t, ctx, card+".sync-text", "50%")
	waitText(t, ctx, card+".pulling-text", "Pulling films/holiday.mkv: 75% of 2.0 GB")
	wait(t, ctx, `document.querySelector('`+card+`.pulling-bar').value === 75 && document.querySelector('`+card+`.pulling-more').textContent === ''`)

	docs.InSync, docs.NeedBytes, docs.NeedFiles, docs.Pulling, docs.PullingFiles = true, 0, 0, nil, 0
	b.SetStatus(st)
	waitText(t, ctx, card+".sync-text", "in sync")
	wait(t, ctx, `document.querySelector('`+card+`.pulling').hidden`)
}
