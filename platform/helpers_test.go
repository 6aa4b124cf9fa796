package platform

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// newFolder opens a fresh folder in a temp dir and returns it with its path.
func newFolder(t *testing.T) (*Folder, string) {
	t.Helper()
	dir := t.TempDir()
	if err := InitFolder(dir); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, dir
}

// writeFile creates the file rel under dir with content, making parents.
func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readFile returns the content of rel under dir, failing the test if absent.
func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exists reports whether rel under dir exists (without following a link).
func exists(dir, rel string) bool {
	_, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel)))
	return err == nil
}

// listTree returns every path under dir, relative and slash separated,
// with its content for files.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		item := filepath.ToSlash(rel)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fi, _ := d.Info()
			item += "=" + string(b) + " " + fi.Mode().String()
		}
		out = append(out, item)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// walkNames returns the names Walk reports for subtree.
func walkNames(t *testing.T, f *Folder, subtree string) []string {
	t.Helper()
	var names []string
	err := f.Walk(subtree, func(e Entry) error {
		names = append(names, e.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
