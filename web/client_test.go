package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/web"
	"ferry/web/webtest"
)

func startServer(t *testing.T, b web.Backend) string {
	t.Helper()
	srv := httptest.NewServer(web.NewServer(b, testKey, nil))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestClientRoundTrip(t *testing.T) {
	st := testStatus()
	st.Pending = []web.PendingDevice{{ID: devB, Address: "10.0.0.9:4000", LastSeen: "2025-05-01T12:00:00Z"}}
	b := webtest.New(st)
	c := web.NewClient(startServer(t, b), testKey)
	ctx := context.Background()

	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Folders[0].Errors, st.Folders[0].Devices, st.Folders[0].HeldSample = []string{}, []string{}, []string{}
	st.Folders[0].ApartSample = []string{}
	st.Devices[0].Addrs, st.Offered = []string{}, []web.OfferedFolder{}
	st.Folders[0].Pulling = []web.PullProgress{}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("Status:\n got %+v\nwant %+v", got, st)
	}
	raw, err := c.StatusJSON(ctx)
	if err != nil || !json.Valid(raw) {
		t.Fatalf("StatusJSON = %s, %v", raw, err)
	}
	must(t, c.Scan(ctx, "photos", "sub/dir"))
	must(t, c.AddDevice(ctx, web.DeviceRequest{ID: devB, Name: "nas", Addrs: []string{"nas:1", "nas:2"}}))
	must(t, c.ShareFolder(ctx, "photos", devB))
	must(t, c.RemoveDevice(ctx, devB))
	id, err := c.AddFolder(ctx, web.FolderRequest{ID: "docs", Path: "/docs", Type: "receive-only"})
	if err != nil || id != "docs" {
		t.Fatalf("AddFolder = %q, %v", id, err)
	}
	name, addrs, paused := "phone", []string{"phone:1"}, true
	must(t, c.SetDevice(ctx, devA, web.DeviceSettings{Name: &name, Addrs: &addrs, Paused: &paused}))
	if err := c.UnshareFolder(ctx, "photos", devA); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("UnshareFolder of a device it is not shared with = %v", err)
	}
	must(t, c.RemoveFolder(ctx, "docs", true))
	if _, err := c.AcceptFolder(ctx, web.AcceptRequest{Device: devA, Folder: "music", Path: "/m"}); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("AcceptFolder of a folder not offered = %v", err)
	}
	want := []string{"Status", "Status", "Scan photos sub/dir", "AddDevice " + devB + " nas nas:1,nas:2",
		"ShareFolder photos " + devB, "RemoveDevice " + devB, "AddFolder docs /docs receive-only",
		"SetDevice " + devA + " name=phone addrs=phone:1 paused=true", "UnshareFolder photos " + devA,
		"RemoveFolder docs forget=true", "AcceptFolder " + devA + " music /m"}
	if calls := b.Calls(); !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls:\n got %q\nwant %q", calls, want)
	}
}

func TestClientErrors(t *testing.T) {
	b := webtest.New(testStatus())
	addr := startServer(t, b)
	ctx := context.Background()
	c := web.NewClient(addr, testKey)

	err := c.AddDevice(ctx, web.DeviceRequest{ID: devA})
	if !errors.Is(err, web.ErrBadRequest) || err.Error() != "device "+devA+" already added" {
		t.Fatalf("duplicate device: %v", err)
	}
	err = c.Scan(ctx, "nope", "")
	if !errors.Is(err, web.ErrNotFound) || err.Error() != `folder "nope" does not exist` {
		t.Fatalf("unknown folder: %v", err)
	}
	b.FailWith(errors.New("disk on fire"))
	var apiErr *web.APIError
	if _, err := c.Status(ctx); !errors.As(err, &apiErr) || apiErr.Status != 500 || err.Error() != "disk on fire" {
		t.Fatalf("server error: %v", err)
	}
	err = web.NewClient(addr, "wrong-key-wrong-key").Ping(ctx)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || errors.Is(err, web.ErrNoDaemon) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestClientNoDaemon(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = web.NewClient(addr, testKey).Ping(context.Background())
	if !errors.Is(err, web.ErrNoDaemon) {
		t.Fatalf("Ping with nothing listening = %v, want ErrNoDaemon", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := web.NewClient(addr, testKey).Ping(ctx); errors.Is(err, web.ErrNoDaemon) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping with a canceled context = %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The history routes: versions, a folder at a moment, its moments, and a
// folder restore whose progress arrives before its result.
func TestClientHistory(t *testing.T) {
	b := webtest.New(testStatus())
	c := web.NewClient(startServer(t, b), testKey)
	ctx := context.Background()
	if vs, err := c.Versions(ctx, "photos", "a.jpg"); err != nil || len(vs) != 1 || vs[0].Kind != "current" {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}
	at := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	if vs, err := c.FolderAt(ctx, "photos", at); err != nil || len(vs) != 1 || vs[0].Name != "a.txt" {
		t.Fatalf("FolderAt = %+v, %v", vs, err)
	}
	if ts, err := c.Moments(ctx, "photos"); err != nil || len(ts) != 1 || !ts[0].Equal(at) {
		t.Fatalf("Moments = %v, %v", ts, err)
	}
	var seen []web.RestoreProgress
	res, err := c.RestoreFolder(ctx, web.FolderRestoreRequest{Folder: "photos", At: at, To: "/tmp/x"}, func(p web.RestoreProgress) { seen = append(seen, p) })
	if err != nil || res.Files != 2 || len(seen) != 1 || seen[0].TotalFiles != 2 {
		t.Fatalf("RestoreFolder = %+v, %v, progress %+v", res, err, seen)
	}
	if _, err := c.RestoreFolder(ctx, web.FolderRestoreRequest{Folder: "nope", At: at}, nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("RestoreFolder of an unknown folder: %v", err)
	}
	if _, err := c.Restore(ctx, web.RestoreRequest{Folder: "photos", Name: "a.jpg"}); err == nil {
		t.Fatal("a restore that names no version was taken")
	}
	want := []string{"Versions photos a.jpg", "FolderAt photos 2026-12-01T18:00:00Z", "Moments photos", "RestoreFolder photos 2026-12-01T18:00:00Z /tmp/x false"}
	for _, w := range want {
		if !slices.Contains(b.Calls(), w) {
			t.Errorf("calls %q lack %q", b.Calls(), w)
		}
	}
}
