package node

import (
	"testing"

	"ferry/engine"
	"ferry/engine/config"
	"ferry/platform"
)

// TestEngineConfigNameRules: a folder's engine gets the name rules found
// on the folder's file system when it was opened, and this system's until
// then.
func TestEngineConfigNameRules(t *testing.T) {
	f := config.Folder{ID: "docs", Path: t.TempDir()}
	n := &Node{folders: map[string]*folderHandle{}}
	if got, want := n.engineConfig(f).Names, engine.Names(platform.LocalNameRules()); got != want {
		t.Errorf("Names before the folder opened = %v, want %v", got, want)
	}
	rules := platform.NameRulesFor("windows", true)
	n.folders[f.ID] = &folderHandle{cfg: f, names: rules}
	if got := n.engineConfig(f).Names; got != engine.Names(rules) {
		t.Errorf("Names = %v, want the folder's %v", got, rules)
	}
}
