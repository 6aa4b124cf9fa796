package web_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ferry/proto"
	"ferry/web"
	"ferry/web/webtest"
	"ferry/web/webtest/browser"
)

// waitFor bounds each wait for the page to show something.
const waitFor = 10 * time.Second

func browserStatus() web.Status {
	st := testStatus()
	st.Devices[0].InRate, st.Devices[0].OutRate = 1_500_000, 0
	st.Devices = append(st.Devices, web.DeviceStatus{ID: devB, Name: "nas"})
	st.Folders = append(st.Folders, web.FolderStatus{
		ID: "docs", Path: "/d", Type: "send-receive", State: web.StateSyncing,
		GlobalBytes: 1000, NeedBytes: 250, NeedFiles: 3, InRate: 2000, ETA: 90,
		Conflicts: 2, Errors: []string{"disk full"}, Devices: []string{devA},
	})
	st.Pending = []web.PendingDevice{{ID: proto.DeviceID{3}.String(), Address: "10.0.0.9:22110", LastSeen: "2030-01-01T00:00:00Z"}}
	st.Devices[0].Via = "address"
	st.Device.External, st.Device.Mapping = "203.0.113.7:22110", "upnp"
	st.Device.DHT = &web.DHTStatus{Addr: "0.0.0.0:22110", Nodes: 80, GoodNodes: 64}
	st.Device.Relay = web.RelayStatus{On: true, Streams: 1, Forwarded: 3_000_000}
	return st
}

// TestUIInBrowser drives the web UI in a real browser against the fake
// backend: the status shows, pairing both ways works, and the forms reach
// the backend.
func TestUIInBrowser(t *testing.T) {
	st := browserStatus()
	b := webtest.New(st)
	srv := httptest.NewServer(web.NewServer(b, testKey, nil))
	t.Cleanup(srv.Close)
	ctx := browser.New(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/#key="+testKey))

	t.Run("status", func(t *testing.T) { checkStatus(t, ctx, st) })
	t.Run("show code", func(t *testing.T) { checkShowCode(t, ctx, b) })
	t.Run("join", func(t *testing.T) { checkJoin(t, ctx, b) })
	t.Run("add folder", func(t *testing.T) { checkAddFolder(t, ctx, b) })
	t.Run("share and pending", func(t *testing.T) { checkShareAndPending(t, ctx, b, st) })
	t.Run("held deletions", func(t *testing.T) { checkHeld(t, ctx, b, st) })
	t.Run("live update", func(t *testing.T) {
		st.Devices[1].Connected, st.Devices[1].Via, st.Devices[1].Relay, st.Devices[1].Address = true, "relay", devA, "relay:X"
		b.SetStatus(st)
		wait(t, ctx, `document.querySelector('#devices [data-device-id="`+devB+`"] .connected').textContent === 'connected'`)
		waitText(t, ctx, `#devices [data-device-id="`+devB+`"] .address`, "relayed through laptop")
	})
	cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || cookie != "" {
		t.Errorf("the page's script sees cookies %q (%v); the session cookie must be HttpOnly", cookie, err)
	}
}

// TestSignInInBrowser: the page opened without the key asks for it, refuses
// a wrong one, and with the right one shows the daemon; the key leaves the
// address bar, and a reload stays signed in through the cookie alone.
func TestSignInInBrowser(t *testing.T) {
	st := browserStatus()
	srv := httptest.NewServer(web.NewServer(webtest.New(st), testKey, nil))
	t.Cleanup(srv.Close)
	ctx := browser.New(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/"))
	wait(t, ctx, `!document.querySelector('#signin').hidden && document.querySelector('#app').hidden`)
	if got := text(t, ctx, "#device-id"); got != "" {
		t.Fatalf("the page shows the device %q before signing in", got)
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#signin-key"), "not-the-key-at-all"), chromedp.Click(chromedp.CSS(`#signin-form button`)))
	waitText(t, ctx, "#signin-msg", "not this daemon's key")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#signin-key').value = ''`)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#signin-key"), testKey), chromedp.Click(chromedp.CSS(`#signin-form button`)))
	waitText(t, ctx, "#device-id", st.Device.ID)
	wait(t, ctx, `document.querySelector('#signin').hidden && !document.querySelector('#app').hidden`)

	// With the key in the address: it is dropped from the address and the
	// history at once.
	ctx2 := browser.New(t)
	run(t, ctx2, chromedp.Navigate(srv.URL+"/#key="+testKey))
	waitText(t, ctx2, "#device-id", st.Device.ID)
	wait(t, ctx2, `location.hash === '' && !location.href.includes('`+testKey+`')`)
	run(t, ctx2, chromedp.Reload())
	waitText(t, ctx2, "#device-id", st.Device.ID)
}

func checkStatus(t *testing.T, ctx context.Context, st web.Status) {
	waitText(t, ctx, "#device-id", st.Device.ID)
	waitText(t, ctx, "#device-name", "box")
	row := `#devices [data-device-id="` + devA + `"] `
	waitText(t, ctx, row+".connected", "connected")
	waitText(t, ctx, row+".name", "laptop")
	waitText(t, ctx, row+".in-rate", "1.5 MB/s")
	waitText(t, ctx, row+".address", "10.0.0.2:22110 (configured address)")
	waitText(t, ctx, "#reach", "Reachable from the internet at 203.0.113.7:22110 (upnp port mapping)")
	waitText(t, ctx, "#reach", "64 of 80 DHT nodes answer")
	waitText(t, ctx, "#reach", "relays for trusted devices (1 now, 3.0 MB so far)")
	if got := text(t, ctx, `#devices [data-device-id="`+devB+`"] .connected`); got != "disconnected" {
		t.Errorf("nas shows %q, want disconnected", got)
	}
	waitText(t, ctx, `#folders [data-folder-id="photos"] .sync-text`, "in sync")
	docs := `#folders [data-folder-id="docs"] `
	waitText(t, ctx, docs+".sync-text", "75%")
	waitText(t, ctx, docs+".eta", "about 1 min 30 s left")
	waitText(t, ctx, docs+".errors", "disk full")
	waitText(t, ctx, docs+".conflicts", "2 conflicts")
	waitText(t, ctx, docs+".shared", "shared with laptop")
	waitText(t, ctx, `#pending [data-pending-id="`+st.Pending[0].ID+`"]`, "10.0.0.9:22110")
}

func checkShowCode(t *testing.T, ctx context.Context, b *webtest.Backend) {
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#pair-folders input[value="photos"]`)),
		chromedp.Click(chromedp.ID("pair-show")))
	waitText(t, ctx, "#pair-code", "7-harbor-tulip")
	waitText(t, ctx, "#pair-state", "waiting")
	waitText(t, ctx, "#pair-expiry", "expires in")
	if !slices.Contains(b.Calls(), "CreateOffer photos ") {
		t.Errorf("calls %q lack the offer for photos", b.Calls())
	}
	src, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('pair-qr').complete && document.getElementById('pair-qr').naturalWidth > 0 ? document.getElementById('pair-qr').src : ''`))
	if err != nil || !strings.HasPrefix(src, "data:image/svg+xml") {
		t.Errorf("QR code image not shown: %q %v", src, err)
	}
	b.CompleteOffer(devA, "laptop")
	waitText(t, ctx, "#pair-state", "paired with laptop")
}

func checkJoin(t *testing.T, ctx context.Context, b *webtest.Backend) {
	run(t, ctx,
		chromedp.SendKeys(chromedp.ID("join-code"), "1-wrong-code"),
		chromedp.Click(chromedp.ID("join-submit")))
	waitText(t, ctx, "#join-result", "pairing failed: wrong code")
	// The peer offers docs, and this device has a folder docs at /d: it is
	// not joined unless ticked, and the page says so with its path.
	run(t, ctx,
		chromedp.SetValue(chromedp.ID("join-code"), "7-harbor-tulip"),
		chromedp.SendKeys(chromedp.ID("join-addr"), "10.0.0.2:22110"),
		chromedp.SendKeys(chromedp.ID("join-into"), "/sync"),
		chromedp.Click(chromedp.ID("join-submit")))
	waitText(t, ctx, "#join-result", "Paired with peer")
	waitText(t, ctx, "#join-result .unconfirmed", "docs: yours is /d")
	if !slices.Contains(b.Calls(), "Join 7-harbor-tulip 10.0.0.2:22110") {
		t.Errorf("calls %q lack the join", b.Calls())
	}
	// Ticked, with its path shown beside it, it is joined where it is.
	box := `#join-existing [data-folder-id="docs"]`
	waitText(t, ctx, box, "docs (/d)")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(box+" input")),
		chromedp.Click(chromedp.ID("join-submit")))
	waitText(t, ctx, "#join-result", "docs → /d")
	if !slices.Contains(b.Calls(), "Join 7-harbor-tulip 10.0.0.2:22110 existing=docs") {
		t.Errorf("calls %q lack the confirmed join", b.Calls())
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(box+" input")))
}

func checkAddFolder(t *testing.T, ctx context.Context, b *webtest.Backend) {
	run(t, ctx,
		chromedp.SendKeys(chromedp.ID("folder-add-path"), "/music"),
		chromedp.SendKeys(chromedp.ID("folder-add-id"), "music"),
		chromedp.SetValue(chromedp.ID("folder-add-type"), "send-only"),
		chromedp.Click(chromedp.ID("folder-add-submit")))
	waitText(t, ctx, "#folder-add-result", "Added folder music.")
	if !slices.Contains(b.Calls(), "AddFolder music /music send-only") {
		t.Errorf("calls %q lack the new folder", b.Calls())
	}
	run(t, ctx,
		chromedp.SendKeys(chromedp.ID("folder-add-path"), "/p"),
		chromedp.SendKeys(chromedp.ID("folder-add-id"), "photos"),
		chromedp.Click(chromedp.ID("folder-add-submit")))
	waitText(t, ctx, "#folder-add-result", `folder "photos" already exists`)
}

func checkShareAndPending(t *testing.T, ctx context.Context, b *webtest.Backend, st web.Status) {
	photos := `#folders [data-folder-id="photos"] `
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS(photos+".share-device"), devB),
		chromedp.Click(chromedp.CSS(photos+".share-submit")))
	waitText(t, ctx, photos+".share-result", "shared")
	if !slices.Contains(b.Calls(), "ShareFolder photos "+devB) {
		t.Errorf("calls %q lack the share", b.Calls())
	}
	pending := `#pending [data-pending-id="` + st.Pending[0].ID + `"] `
	run(t, ctx, chromedp.Click(chromedp.CSS(pending+".accept")))
	waitCall(t, b, "AddDevice "+st.Pending[0].ID+"  ")
	run(t, ctx, chromedp.Click(chromedp.CSS(pending+".ignore")))
	waitCall(t, b, "IgnoreDevice "+st.Pending[0].ID)
	wait(t, ctx, `!document.querySelector('#pending [data-pending-id]') && document.getElementById('pending-section').hidden`)
}

// checkHeld shows a folder whose deletions are held, with a sample of the
// names, and its two ways out; deleting everywhere takes a second click. A
// folder whose marker is missing offers to resume it.
func checkHeld(t *testing.T, ctx context.Context, b *webtest.Backend, st web.Status) {
	st.Folders[1].State, st.Folders[1].HeldLocal = web.StateHeld, 80
	st.Folders[1].HeldSample = []string{"a/1.txt", "a/2.txt"}
	st.Folders[1].MassChange = 120
	st.Folders[0].State = web.StateError
	st.Folders[0].Errors = []string{"folder stopped: the folder's .ferry marker is missing; if the folder is right, run `ferry folder resume photos`"}
	b.SetStatus(st)
	docs := `#folders [data-folder-id="docs"] `
	waitText(t, ctx, docs+".state", "held")
	waitText(t, ctx, docs+".held-text", "80 files vanished here at once")
	waitText(t, ctx, docs+".held-names", "a/1.txt")
	waitText(t, ctx, docs+".held-names", "and 78 more")
	waitText(t, ctx, docs+".mass-change-text", "120 files were rewritten at once")
	run(t, ctx, chromedp.Click(chromedp.CSS(docs+".held-revert")))
	waitCall(t, b, "FolderAction docs revert")
	run(t, ctx, chromedp.Click(chromedp.CSS(docs+".held-confirm")))
	waitText(t, ctx, docs+".held-confirm", "Click again")
	if slices.Contains(b.Calls(), "FolderAction docs confirm-deletes") {
		t.Fatal("one click deleted the files everywhere")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(docs+".held-confirm")))
	waitCall(t, b, "FolderAction docs confirm-deletes")
	run(t, ctx, chromedp.Click(chromedp.CSS(docs+".mass-change-ok")))
	waitCall(t, b, "FolderAction docs resume")
	photos := `#folders [data-folder-id="photos"] `
	wait(t, ctx, `!document.querySelector('`+photos+`.resume').hidden`)
	run(t, ctx, chromedp.Click(chromedp.CSS(photos+".resume-submit")))
	waitCall(t, b, "FolderAction photos resume")
	st.Folders[1].State, st.Folders[1].HeldLocal, st.Folders[1].HeldSample, st.Folders[1].MassChange = web.StateIdle, 0, nil, 0
	st.Folders[0].State, st.Folders[0].Errors = web.StateIdle, nil
	b.SetStatus(st)
	wait(t, ctx, `document.querySelector('`+docs+`.held').hidden && document.querySelector('`+photos+`.resume').hidden`)
	checkApart(t, ctx, b, st)
}

// checkApart lists the changes a receive-only folder keeps to itself, with
// the way to undo them, and those a send-only folder does not take, with
// the way to override them.
func checkApart(t *testing.T, ctx context.Context, b *webtest.Backend, st web.Status) {
	docs, photos := `#folders [data-folder-id="docs"] `, `#folders [data-folder-id="photos"] `
	st.Folders[1].Type, st.Folders[1].State, st.Folders[1].Apart, st.Folders[1].ApartSample = "receive-only", "local-changes", 3, []string{"a.txt", "b.txt"}
	st.Folders[0].Type, st.Folders[0].State, st.Folders[0].Apart, st.Folders[0].ApartSample = "send-only", "out-of-sync", 1, []string{"c.jpg"}
	b.SetStatus(st)
	waitText(t, ctx, docs+".apart-text", "3 files were changed here")
	waitText(t, ctx, docs+".apart-names", "and 1 more")
	waitText(t, ctx, photos+".apart-text", "1 file was changed elsewhere")
	reverts := func() int {
		n := 0
		for _, c := range b.Calls() {
			if c == "FolderAction docs revert" {
				n++
			}
		}
		return n
	}
	before := reverts()
	run(t, ctx, chromedp.Click(chromedp.CSS(docs+".apart-action")))
	deadline := time.Now().Add(waitFor)
	for reverts() == before {
		if time.Now().After(deadline) {
			t.Fatal("the receive-only folder's revert button asked nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(photos+".apart-action")))
	waitCall(t, b, "FolderAction photos override")
	st.Folders[1].Apart, st.Folders[1].ApartSample, st.Folders[0].Apart, st.Folders[0].ApartSample = 0, nil, 0, nil
	b.SetStatus(st)
	wait(t, ctx, `document.querySelector('`+docs+`.apart').hidden && document.querySelector('`+photos+`.apart').hidden`)
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	if _, err := browser.WaitText(ctx, sel, want, waitFor); err != nil {
		t.Fatal(err)
	}
}

func wait(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if err := browser.Wait(ctx, expr, waitFor); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	s, err := browser.Text(ctx, sel)
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitCall waits for the backend to record call: a click's request is in
// flight when the click returns.
func waitCall(t *testing.T, b *webtest.Backend, call string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !slices.Contains(b.Calls(), call) {
		if time.Now().After(deadline) {
			t.Fatalf("calls %q lack %q", b.Calls(), call)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
