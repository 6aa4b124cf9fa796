package web_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"ferry/web"
	"ferry/web/webtest"
)

func testConflict() web.Conflict {
	at := time.Date(2026, 12, 4, 20, 1, 2, 0, time.UTC)
	return web.Conflict{Folder: "photos",
		Original: web.ConflictVersion{Name: "notes.txt", Exists: true, Device: devA, DeviceName: "laptop", ModTime: at, Size: 5, Version: "o1"},
		Copy: web.ConflictVersion{Name: "notes.conflict-20261204-200000-ABCDEF0.txt", Exists: true, Device: "ABCDEF0",
			ModTime: at.Add(-time.Minute), Size: 7, Version: "c1"},
	}
}

// The client lists and resolves conflicts through the API, and the
// answers keep their shape: an empty list is [], not null.
func TestConflictsRoundTrip(t *testing.T) {
	b := webtest.New(testStatus())
	c := web.NewClient(startServer(t, b), testKey)
	ctx := context.Background()
	if cs, err := c.ConflictList(ctx, ""); err != nil || cs == nil || len(cs) != 0 {
		t.Fatalf("ConflictList with none = %#v, %v; want an empty list", cs, err)
	}
	want := testConflict()
	b.SetConflicts([]web.Conflict{want})
	cs, err := c.ConflictList(ctx, "photos")
	if err != nil || !reflect.DeepEqual(cs, []web.Conflict{want}) {
		t.Fatalf("ConflictList(photos) = %+v, %v; want %+v", cs, err, want)
	}
	if _, err := c.ConflictList(ctx, "nope"); !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("ConflictList(nope): %v, want not found", err)
	}
	stale := web.ResolveRequest{Folder: "photos", Copy: want.Copy.Name, Keep: web.KeepBoth, CopyVersion: "c0", OriginalVersion: "o1"}
	if _, err := c.ResolveConflict(ctx, stale); !errors.Is(err, web.ErrBadRequest) {
		t.Fatalf("ResolveConflict with a stale version: %v, want bad request", err)
	}
	req := stale
	req.CopyVersion = "c1"
	res, err := c.ResolveConflict(ctx, req)
	if err != nil || res.Name == "" {
		t.Fatalf("ResolveConflict = %+v, %v", res, err)
	}
	if cs, _ := c.ConflictList(ctx, ""); len(cs) != 0 {
		t.Fatalf("still listed after it was resolved: %+v", cs)
	}
	calls := strings.Join(b.Calls(), "; ")
	if !strings.Contains(calls, "ResolveConflict photos "+want.Copy.Name+" both") {
		t.Fatalf("calls %s", calls)
	}
}

// A resolve request that cannot be right is refused before the backend
// sees it.
func TestResolveConflictRefusesBadRequests(t *testing.T) {
	b := webtest.New(testStatus())
	h := web.NewServer(b, testKey, nil)
	for _, body := range []string{
		``,
		`{"folder":"photos","copy":"a.conflict-20261204-200000-ABCDEF0.txt","keep":"copy"}`,
		`{"folder":"photos","copy":"a.conflict-20261204-200000-ABCDEF0.txt","keep":"mine","copyVersion":"c1"}`,
		`{"folder":"photos","keep":"copy","copyVersion":"c1"}`,
		`{"copy":"a.conflict-20261204-200000-ABCDEF0.txt","keep":"copy","copyVersion":"c1"}`,
		`{"folder":"photos","copy":"x","keep":"copy","copyVersion":"c1","extra":1}`,
	} {
		if rec := serve(t, h, http.MethodPost, "/api/conflicts/resolve", body); rec.Code != http.StatusBadRequest {
			t.Errorf("resolve %s: status %d, want 400: %s", body, rec.Code, rec.Body)
		}
	}
	if calls := b.Calls(); len(calls) != 0 {
		t.Fatalf("the backend was called: %v", calls)
	}
	if rec := serve(t, h, http.MethodGet, "/api/conflicts/resolve", ""); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET resolve: status %d, want 405", rec.Code)
	}
}
