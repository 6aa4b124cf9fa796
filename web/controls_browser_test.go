package web_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"ferry/web"
	"ferry/web/webtest"
	"ferry/web/webtest/browser"
)

// TestControlsInBrowser drives the everyday controls: folder settings,
// pause and resume, moving, unsharing and removing a folder, pausing,
// editing and removing a device, and taking an offered folder. What
// removes or moves something takes a second click.
func TestControlsInBrowser(t *testing.T) {
	st := browserStatus()
	st.Offered = []web.OfferedFolder{{Device: devA, DeviceName: "laptop", Folder: "music", LastSeen: "2030-01-01T00:00:00Z"}}
	b := webtest.New(st)
	srv := httptest.NewServer(web.NewServer(b, testKey, nil))
	t.Cleanup(srv.Close)
	ctx := browser.New(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/#key="+testKey))
	waitText(t, ctx, "#device-id", st.Device.ID)

	t.Run("folder settings", func(t *testing.T) { checkFolderSettings(t, ctx, b, st) })
	t.Run("unshare and remove", func(t *testing.T) { checkUnshareRemove(t, ctx, b) })
	t.Run("devices", func(t *testing.T) { checkDeviceControls(t, ctx, b) })
	t.Run("offered", func(t *testing.T) { checkOffered(t, ctx, b) })
}

func checkFolderSettings(t *testing.T, ctx context.Context, b *webtest.Backend, st web.Status) {
	photos := `#folders [data-folder-id="photos"] `
	run(t, ctx, chromedp.Click(chromedp.CSS(photos+".controls summary")))
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(photos+".label-input"), "Family"),
		chromedp.SendKeys(chromedp.CSS(photos+".scan-input"), "2h"),
		chromedp.Click(chromedp.CSS(photos+".settings-save")))
	waitCall(t, b, `SetFolder photos {DeleteGuard:<nil> DefaultDeleteGuard:false Type: Keep: Label:"Family" ScanInterval:2h}`)
	waitText(t, ctx, photos+".controls-result", "saved")

	// A new path takes a second click.
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(photos+".path-input"), "/mnt/new/photos"),
		chromedp.Click(chromedp.CSS(photos+".settings-save")))
	waitText(t, ctx, photos+".settings-save", "Click again if the folder's directory is now /mnt/new/photos")
	moved := "SetFolder photos {DeleteGuard:<nil> DefaultDeleteGuard:false Type: Keep: Path:/mnt/new/photos}"
	if slices.Contains(b.Calls(), moved) {
		t.Fatal("one click moved the folder")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(photos+".settings-save")))
	waitCall(t, b, moved)

	run(t, ctx, chromedp.Click(chromedp.CSS(photos+".pause-toggle")))
	waitCall(t, b, "FolderAction photos pause")
	st.Folders[0].Paused, st.Folders[0].State, st.Folders[0].Label = true, web.StatePaused, "Family"
	b.SetStatus(st)
	waitText(t, ctx, photos+".state", "paused")
	waitText(t, ctx, photos+".pause-toggle", "Resume")
	waitText(t, ctx, photos+".folder-id", "Family (photos)")
	run(t, ctx, chromedp.Click(chromedp.CSS(photos+".pause-toggle")))
	waitCall(t, b, "FolderAction photos resume")
}

func checkUnshareRemove(t *testing.T, ctx context.Context, b *webtest.Backend) {
	docs := `#folders [data-folder-id="docs"] `
	run(t, ctx, chromedp.Click(chromedp.CSS(docs+".controls summary")))
	unshare := docs + `.unshare-list [data-device-id="` + devA + `"] .unshare`
	waitText(t, ctx, docs+".unshare-list", "Shared with laptop")
	run(t, ctx, chromedp.Click(chromedp.CSS(unshare)))
	waitText(t, ctx, unshare, "Click again to stop sharing with laptop")
	run(t, ctx, chromedp.Click(chromedp.CSS(unshare)))
	waitCall(t, b, "UnshareFolder docs "+devA)
	waitText(t, ctx, docs+".controls-result", "no longer shared")

	run(t, ctx,
		chromedp.Click(chromedp.CSS(docs+".forget")),
		chromedp.Click(chromedp.CSS(docs+".remove-folder")))
	waitText(t, ctx, docs+".remove-folder", "forget its history")
	if slices.Contains(b.Calls(), "RemoveFolder docs forget=true") {
		t.Fatal("one click removed the folder")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(docs+".remove-folder")))
	waitCall(t, b, "RemoveFolder docs forget=true")
	wait(t, ctx, `!document.querySelector('#folders [data-folder-id="docs"]')`)
}

func checkDeviceControls(t *testing.T, ctx context.Context, b *webtest.Backend) {
	laptop := `#devices [data-device-id="` + devA + `"] `
	run(t, ctx, chromedp.Click(chromedp.CSS(laptop+".device-pause")))
	waitCall(t, b, "SetDevice "+devA+" paused=true")
	waitText(t, ctx, laptop+".connected", "paused")
	waitText(t, ctx, laptop+".device-pause", "Resume")
	run(t, ctx, chromedp.Click(chromedp.CSS(laptop+".device-pause")))
	waitCall(t, b, "SetDevice "+devA+" paused=false")

	run(t, ctx, chromedp.Click(chromedp.CSS(laptop+".device-more summary")))
	wait(t, ctx, `document.querySelector('`+laptop+`.rename-input').value === 'laptop'`)
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS(laptop+".rename-input"), "work laptop"),
		chromedp.SetValue(chromedp.CSS(laptop+".addrs-input"), "10.0.0.2:22110, laptop.lan:22110"),
		chromedp.SetValue(chromedp.CSS(laptop+".max-send-input"), "2M"),
		chromedp.SetValue(chromedp.CSS(laptop+".max-recv-input"), "1.5 MB/s"),
		chromedp.Click(chromedp.CSS(laptop+".device-save")))
	waitCall(t, b, "SetDevice "+devA+" name=work laptop addrs=10.0.0.2:22110,laptop.lan:22110 maxSend=2097152 maxRecv=1572864")
	waitText(t, ctx, laptop+".name", "work laptop")
	run(t, ctx, chromedp.SetValue(chromedp.CSS(laptop+".max-send-input"), "fast"), chromedp.Click(chromedp.CSS(laptop+".device-save")))
	waitText(t, ctx, laptop+".device-result", "a limit is bytes per second")
	// Opened again, the form shows the limits as they were set.
	run(t, ctx, chromedp.Click(chromedp.CSS(laptop+".device-more summary")), chromedp.Click(chromedp.CSS(laptop+".device-more summary")))
	wait(t, ctx, `document.querySelector('`+laptop+`.max-send-input').value === '2M' && document.querySelector('`+laptop+`.max-recv-input').value === '1536K'`)

	nas := `#devices [data-device-id="` + devB + `"] `
	run(t, ctx, chromedp.Click(chromedp.CSS(nas+".device-more summary")), chromedp.Click(chromedp.CSS(nas+".remove-device")))
	waitText(t, ctx, nas+".remove-device", "Click again")
	if slices.Contains(b.Calls(), "RemoveDevice "+devB) {
		t.Fatal("one click removed the device")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(nas+".remove-device")))
	waitCall(t, b, "RemoveDevice "+devB)
}

func checkOffered(t *testing.T, ctx context.Context, b *webtest.Backend) {
	offer := `#offered-list [data-offer="` + devA + `/music"] `
	waitText(t, ctx, offer+".offer-text", "work laptop shares the folder “music”")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS(offer+".offer-path"), "/home/me/music"),
		chromedp.Click(chromedp.CSS(offer+".offer-accept")))
	waitCall(t, b, "AcceptFolder "+devA+" music /home/me/music")
	wait(t, ctx, `document.getElementById('offered-section').hidden`)
}

// TestPhoneLayoutInBrowser: on a phone-sized screen nothing is wider than
// the screen and the controls can be reached and used.
func TestPhoneLayoutInBrowser(t *testing.T) {
	st := browserStatus()
	st.Offered = []web.OfferedFolder{{Device: devA, DeviceName: "laptop", Folder: "music-with-a-rather-long-folder-name"}}
	b := webtest.New(st)
	srv := httptest.NewServer(web.NewServer(b, testKey, nil))
	t.Cleanup(srv.Close)
	ctx := browser.New(t)
	run(t, ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2)), chromedp.Navigate(srv.URL+"/#key="+testKey))
	waitText(t, ctx, "#device-id", st.Device.ID)
	photos := `#folders [data-folder-id="photos"] `
	laptop := `#devices [data-device-id="` + devA + `"] `
	run(t, ctx, chromedp.Click(chromedp.CSS(photos+".controls summary")), chromedp.Click(chromedp.CSS(laptop+".device-more summary")))
	wait(t, ctx, `document.documentElement.scrollWidth <= window.innerWidth`)
	for _, sel := range []string{photos + ".pause-toggle", photos + ".remove-folder", photos + ".settings-save", laptop + ".device-pause", laptop + ".device-save", "#offered-list .offer-accept"} {
		wait(t, ctx, `(() => { const r = document.querySelector('`+sel+`').getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; })()`)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(laptop+".device-pause")))
	waitCall(t, b, "SetDevice "+devA+" paused=true")
}
