package main

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"ferry/engine/config"
	"ferry/web"
	"ferry/web/webtest"
)

// TestPairJoinLeavesExistingFolderUnasked: `ferry pair CODE` says which
// offered folder it left alone because this device has a folder with its
// ID, and how to join it; --folder ID=PATH with that folder's path joins it.
func TestPairJoinLeavesExistingFolderUnasked(t *testing.T) {
	home := t.TempDir()
	key, err := web.LoadOrCreateAPIKey(home)
	if err != nil {
		t.Fatal(err)
	}
	docs := filepath.Join(t.TempDir(), "My Docs")
	b := webtest.New(web.Status{Folders: []web.FolderStatus{{ID: "docs", Path: docs}}})
	srv := httptest.NewServer(web.NewServer(b, key, nil))
	t.Cleanup(srv.Close)
	cfg := config.Default()
	cfg.GUI = srv.Listener.Addr().String()
	if err := config.Save(home, cfg); err != nil {
		t.Fatal(err)
	}
	out := ok(t, home, "pair", "7-harbor-tulip", "--into", t.TempDir())
	if want := "folder docs not joined: this device has a folder docs at " + docs; !strings.Contains(out, want) ||
		!strings.Contains(out, "pair again with --folder 'docs="+docs+"'") || strings.Contains(out, "folder docs ->") {
		t.Fatalf("join of an offered folder that exists here printed:\n%s", out)
	}
	out = ok(t, home, "pair", "7-harbor-tulip", "--folder", "docs="+docs)
	if !strings.Contains(out, "folder docs -> "+docs) || strings.Contains(out, "not joined") {
		t.Fatalf("join confirmed with the folder's path printed:\n%s", out)
	}
}
