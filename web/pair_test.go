package web_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"ferry/web"
	"ferry/web/webtest"
)

func TestPairRoutes(t *testing.T) {
	st := testStatus()
	st.Pending = []web.PendingDevice{{ID: devB, Address: "10.0.0.9:4000"}}
	tests := []routeTest{
		{"ignore pending", "DELETE", "/api/pending/" + strings.ToLower(devB), "", 200, `"ok": true`, "IgnoreDevice " + devB},
		{"ignore not pending", "DELETE", "/api/pending/" + devA, "", 404, "not pending", "IgnoreDevice " + devA},
		{"ignore bad id", "DELETE", "/api/pending/nope", "", 400, "invalid device ID", ""},
		{"ignore wrong method", "GET", "/api/pending/" + devB, "", 405, "method not allowed", ""},
		{"offer", "POST", "/api/pair", `{"folders":["photos"],"ttl":"5m"}`, 200, `"code": "7-harbor-tulip"`, "CreateOffer photos 5m"},
		{"offer defaults", "POST", "/api/pair", `{}`, 200, `"folders": []`, "CreateOffer  "},
		{"offer qr", "POST", "/api/pair", `{}`, 200, `"qrSvg": "\u003csvg`, "CreateOffer  "},
		{"offer bad ttl", "POST", "/api/pair", `{"ttl":"soon"}`, 400, "not a positive duration", ""},
		{"offer negative ttl", "POST", "/api/pair", `{"ttl":"-1m"}`, 400, "not a positive duration", ""},
		{"offer empty folder", "POST", "/api/pair", `{"folders":[""]}`, 400, "empty folder ID", ""},
		{"offer unknown folder", "POST", "/api/pair", `{"folders":["nope"]}`, 404, `folder \"nope\" does not exist`, "CreateOffer nope "},
		{"offer unknown field", "POST", "/api/pair", `{"code":"x"}`, 400, "unknown field", ""},
		{"offer no body", "POST", "/api/pair", ``, 400, "missing JSON", ""},
		{"no offer yet", "GET", "/api/pair", "", 200, `"folders": []`, "CurrentOffer"},
		{"cancel", "DELETE", "/api/pair", "", 200, `"ok": true`, "CancelOffer"},
		{"pair wrong method", "PUT", "/api/pair", "", 405, "method not allowed", ""},
		{"join", "POST", "/api/pair/join", `{"code":" 7-harbor-tulip ","addr":"10.0.0.2:22110","into":"/sync"}`, 200, `"path": "/sync/docs"`, "Join 7-harbor-tulip 10.0.0.2:22110"},
		{"join declines", "POST", "/api/pair/join", `{"code":"7-harbor-tulip"}`, 200, `"declined": [` + "\n" + `    "docs"`, "Join 7-harbor-tulip "},
		{"join lists", "POST", "/api/pair/join", `{"code":"7-harbor-tulip"}`, 200, `"folders": []`, "Join 7-harbor-tulip "},
		{"join folder path", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","folders":{"docs":"/d"}}`, 200, `"path": "/d"`, "Join 7-harbor-tulip "},
		{"join wrong code", "POST", "/api/pair/join", `{"code":"1-wrong-code"}`, 400, "wrong code", "Join 1-wrong-code "},
		{"join no code", "POST", "/api/pair/join", `{"addr":"h:1"}`, 400, "missing pairing code", ""},
		{"join blank code", "POST", "/api/pair/join", `{"code":"  "}`, 400, "missing pairing code", ""},
		{"join empty path", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","folders":{"docs":""}}`, 400, "neither may be empty", ""},
		{"join empty folder ID", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","folders":{"":"/d"}}`, 400, "neither may be empty", ""},
		{"join wrong method", "GET", "/api/pair/join", "", 405, "method not allowed", ""},
		{"join lists unconfirmed", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","into":"/sync"}`, 200, `"unconfirmed": []`, "Join 7-harbor-tulip "},
		{"join empty existing", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","existing":[""]}`, 400, "empty folder ID in existing", ""},
	}
	runRouteTests(t, st, tests)
}

// TestJoinRoutesExistingFolder: an offered folder with the ID of one here
// is joined only when the request confirms it.
func TestJoinRoutesExistingFolder(t *testing.T) {
	st := testStatus()
	st.Folders = append(st.Folders, web.FolderStatus{ID: "docs", Path: "/home/me/Documents"})
	unconfirmed := `"unconfirmed": [` + "\n" + `    {` + "\n" + `      "id": "docs",` + "\n" + `      "path": "/home/me/Documents"`
	runRouteTests(t, st, []routeTest{
		{"unconfirmed", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","into":"/sync"}`, 200, unconfirmed, "Join 7-harbor-tulip "},
		{"not joined", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","into":"/sync"}`, 200, `"folders": []`, "Join 7-harbor-tulip "},
		{"confirmed", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","existing":["docs"]}`, 200, `"path": "/home/me/Documents"`, "Join 7-harbor-tulip  existing=docs"},
		{"confirmed by path", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","folders":{"docs":"/home/me/Documents"}}`, 200, `"unconfirmed": []`, "Join 7-harbor-tulip "},
		{"another path", "POST", "/api/pair/join", `{"code":"7-harbor-tulip","folders":{"docs":"/elsewhere"}}`, 400, "already exists here", "Join 7-harbor-tulip "},
	})
}

func TestClientPairing(t *testing.T) {
	st := testStatus()
	st.Pending = []web.PendingDevice{{ID: devB}}
	b := webtest.New(st)
	c := web.NewClient(startServer(t, b), testKey)
	ctx := context.Background()

	o, err := c.CurrentOffer(ctx)
	if err != nil || o.Code != "" || o.Folders == nil {
		t.Fatalf("CurrentOffer before any = %+v, %v", o, err)
	}
	o, err = c.CreateOffer(ctx, web.OfferRequest{Folders: []string{"photos"}, TTL: "1m"})
	if err != nil || o.Code != "7-harbor-tulip" || o.State != web.OfferWaiting || !strings.HasPrefix(o.QRSVG, "<svg") {
		t.Fatalf("CreateOffer = %+v, %v", o, err)
	}
	b.CompleteOffer(devA, "laptop")
	o, err = c.CurrentOffer(ctx)
	if err != nil || o.State != web.OfferPaired || o.Peer != devA || o.PeerName != "laptop" {
		t.Fatalf("CurrentOffer after join = %+v, %v", o, err)
	}
	must(t, c.CancelOffer(ctx))
	res, err := c.Join(ctx, web.JoinRequest{Code: "7-harbor-tulip", Into: "/in"})
	want := web.JoinResult{Device: "peer", Name: "peer", Folders: []web.JoinedFolder{{ID: "docs", Path: "/in/docs"}}, Declined: []string{}, Unconfirmed: []web.JoinedFolder{}}
	if err != nil || !reflect.DeepEqual(res, want) {
		t.Fatalf("Join = %+v, %v", res, err)
	}
	must(t, c.IgnoreDevice(ctx, devB))
	wantCalls := []string{"CurrentOffer", "CreateOffer photos 1m", "CurrentOffer", "CancelOffer", "Join 7-harbor-tulip ", "IgnoreDevice " + devB}
	if calls := b.Calls(); !reflect.DeepEqual(calls, wantCalls) {
		t.Fatalf("calls:\n got %q\nwant %q", calls, wantCalls)
	}
}
