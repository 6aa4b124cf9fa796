package engine_test

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type pkgInfo struct {
	ImportPath string
	Doc        string
	Imports    []string
	Deps       []string
	Name       string
}

func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "ferry/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkgInfo
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportDirection enforces DESIGN.md §1: arrows point one way.
func TestImportDirection(t *testing.T) {
	forbidden := map[string][]string{
		"ferry/proto":     {"ferry/engine", "ferry/index", "ferry/platform", "ferry/discovery", "ferry/web", "ferry/cmd"},
		"ferry/index":     {"ferry/engine", "ferry/platform", "ferry/discovery", "ferry/web", "ferry/cmd"},
		"ferry/platform":  {"ferry/engine", "ferry/index", "ferry/discovery", "ferry/web", "ferry/cmd"},
		"ferry/discovery": {"ferry/engine", "ferry/index", "ferry/platform", "ferry/web", "ferry/cmd"},
		"ferry/web":       {"ferry/engine", "ferry/index", "ferry/platform", "ferry/discovery", "ferry/cmd"},
	}
	for _, p := range listPackages(t) {
		for prefix, bad := range forbidden {
			if p.ImportPath != prefix && !strings.HasPrefix(p.ImportPath, prefix+"/") {
				continue
			}
			for _, dep := range p.Deps {
				for _, b := range bad {
					if dep == b || strings.HasPrefix(dep, b+"/") {
						t.Errorf("%s depends on %s", p.ImportPath, dep)
					}
				}
			}
		}
		if strings.HasSuffix(p.ImportPath, "test") && p.ImportPath != "ferry/cmd/ferry/e2e" {
			continue
		}
		for _, dep := range p.Deps {
			if strings.HasSuffix(dep, "test") && strings.HasPrefix(dep, "ferry/") {
				t.Errorf("%s (production code) imports test helper %s", p.ImportPath, dep)
			}
		}
	}
}

// TestEngineDoesNoIO keeps the engine pure: only proto and the standard
// library, and nothing that touches files, the network or the wall clock.
func TestEngineDoesNoIO(t *testing.T) {
	banned := []string{"os", "net", "net/http", "io/fs", "os/exec", "math/rand", "math/rand/v2", "syscall", "go.etcd.io/bbolt"}
	for _, p := range listPackages(t) {
		if p.ImportPath != "ferry/engine" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "ferry/") && imp != "ferry/proto" {
				t.Errorf("engine imports %s", imp)
			}
			for _, b := range banned {
				if imp == b {
					t.Errorf("engine imports %s", imp)
				}
			}
			if strings.Contains(imp, ".") && !strings.HasPrefix(imp, "ferry/") {
				t.Errorf("engine imports third-party %s", imp)
			}
		}
		checkNoWallClock(t)
		return
	}
	t.Fatal("package ferry/engine not found")
}

func checkNoWallClock(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range []string{"time.Now(", "time.Since(", "time.After(", "time.Sleep(", "time.NewTimer(", "time.NewTicker("} {
			if strings.Contains(string(src), call) {
				t.Errorf("%s calls %s: the engine takes time only from Tick", f, call)
			}
		}
	}
}

// TestEveryPackageHasDoc keeps package documentation present.
func TestEveryPackageHasDoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}
