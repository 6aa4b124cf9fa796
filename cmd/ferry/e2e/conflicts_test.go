package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/web"
)

// makeConflicts has A and B change each of names while B is stopped, A
// earlier: B's version wins every name on both devices, and A's is kept
// beside it as a conflict copy. Each file holds "A: name" or "B: name".
func makeConflicts(t *testing.T, names ...string) (a, b *device) {
	t.Helper()
	a, b = newDevice(t, "A"), newDevice(t, "B")
	for _, name := range names {
		writeFile(t, a.path(name), []byte("before: "+name), 0o644)
	}
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	b.stop()
	earlier := time.Now().Add(-time.Minute)
	for _, name := range names {
		writeFile(t, a.path(name), []byte("A: "+name), 0o644)
		if err := os.Chtimes(a.path(name), earlier, earlier); err != nil {
			t.Fatal(err)
		}
		writeFile(t, b.path(name), []byte("B: "+name), 0o644)
	}
	a.ferry("scan", "docs")
	b.start()
	converge(t, time.Minute, a, b)
	return a, b
}

// conflicts lists d's conflict copies with the real CLI.
func (d *device) conflicts() []web.Conflict {
	d.t.Helper()
	var cs []web.Conflict
	if err := json.Unmarshal([]byte(d.ferry("conflicts", "--json")), &cs); err != nil {
		d.t.Fatalf("%s: conflicts --json: %v", d.name, err)
	}
	return cs
}

// apiPost sends body to the daemon's API with the home's API key and
// returns the status and the answer.
func (d *device) apiPost(path string, body any) (int, []byte) {
	d.t.Helper()
	key, err := os.ReadFile(filepath.Join(d.home, "apikey"))
	if err != nil {
		d.t.Fatal(err)
	}
	data, err := json.Marshal(body)
	if err != nil {
		d.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+d.gui+path, bytes.NewReader(data))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("X-API-Key", strings.TrimSpace(string(key)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, answer
}

// resolve resolves the conflict of original as d lists it.
func (d *device) resolve(cs []web.Conflict, original, keep string) web.ResolveResult {
	d.t.Helper()
	req := resolveRequest(d.t, cs, original, keep)
	code, answer := d.apiPost("/api/conflicts/resolve", req)
	if code != http.StatusOK {
		d.t.Fatalf("%s: resolve %s keep %s: %d %s", d.name, original, keep, code, answer)
	}
	var res web.ResolveResult
	if err := json.Unmarshal(answer, &res); err != nil {
		d.t.Fatal(err)
	}
	return res
}

func resolveRequest(t testing.TB, cs []web.Conflict, original, keep string) web.ResolveRequest {
	t.Helper()
	for _, c := range cs {
		if c.Original.Name == original {
			return web.ResolveRequest{Folder: c.Folder, Copy: c.Copy.Name, Keep: keep, CopyVersion: c.Copy.Version, OriginalVersion: c.Original.Version}
		}
	}
	t.Fatalf("no conflict of %s listed: %+v", original, cs)
	return web.ResolveRequest{}
}

// restoreKept brings back the newest version of name that d kept, into a
// new directory, and returns its content.
func (d *device) restoreKept(name string) string {
	d.t.Helper()
	for _, v := range d.versions(name) {
		if v.ID == 0 {
			continue
		}
		out := d.t.TempDir()
		d.ferry("restore", d.path(name), "--version", strconv.FormatUint(v.ID, 10), "--to", out)
		data, err := os.ReadFile(filepath.Join(out, filepath.Base(name)))
		if err != nil {
			d.t.Fatal(err)
		}
		return string(data)
	}
	d.t.Fatalf("%s keeps no version of %s", d.name, name)
	return ""
}

// A real conflict on two daemons is listed alike by ferry conflicts and
// the API, with who made each version, and resolved each of the three
// ways: both devices end up with the kept files, no copy, and what a
// resolution replaced or removed comes back from the history.
func TestResolveConflicts(t *testing.T) {
	a, b := makeConflicts(t, "one.txt", "two.txt", "three.txt")
	cs := a.conflicts()
	if len(cs) != 3 {
		t.Fatalf("A lists %d conflicts, want 3: %+v", len(cs), cs)
	}
	raw, ok := a.apiGet("/api/conflicts?folder=docs")
	var viaAPI []web.Conflict
	if !ok || json.Unmarshal(raw, &viaAPI) != nil || !reflect.DeepEqual(viaAPI, cs) {
		t.Fatalf("the API lists %s, ferry conflicts --json %+v", raw, cs)
	}
	for _, c := range cs {
		name := c.Original.Name
		if !strings.HasPrefix(c.Copy.Name, strings.TrimSuffix(name, ".txt")+".conflict-") || !strings.HasSuffix(c.Copy.Name, ".txt") {
			t.Errorf("copy of %s named %s", name, c.Copy.Name)
		}
		if c.Copy.Device != a.id || c.Original.Device != b.id || c.Copy.Size != int64(len("A: "+name)) ||
			c.Original.Size != int64(len("B: "+name)) || !c.Copy.ModTime.Before(c.Original.ModTime) {
			t.Errorf("conflict of %s listed as %+v", name, c)
		}
	}
	bs := b.conflicts()
	for _, c := range bs {
		if c.Copy.DeviceName != "A" || c.Original.Device != b.id {
			t.Errorf("B lists the conflict of %s as %+v", c.Original.Name, c)
		}
	}

	// A hostile name and a stale version are refused.
	bad := resolveRequest(t, cs, "one.txt", web.KeepCopy)
	bad.Copy = "../" + bad.Copy
	if code, answer := a.apiPost("/api/conflicts/resolve", bad); code != http.StatusBadRequest {
		t.Fatalf("resolve of %s: %d %s, want 400", bad.Copy, code, answer)
	}
	stale := resolveRequest(t, cs, "one.txt", web.KeepCopy)
	stale.OriginalVersion = "0000000000000000"
	if code, answer := a.apiPost("/api/conflicts/resolve", stale); code != http.StatusBadRequest || !strings.Contains(string(answer), "changed since it was listed") {
		t.Fatalf("a stale resolve: %d %s, want 400", code, answer)
	}

	// one.txt: A keeps its own version, the copy.
	if res := a.resolve(cs, "one.txt", web.KeepCopy); res.Name != "one.txt" {
		t.Fatalf("keep copy: %+v", res)
	}
	if code, _ := a.apiPost("/api/conflicts/resolve", resolveRequest(t, cs, "one.txt", web.KeepCopy)); code != http.StatusBadRequest && code != http.StatusNotFound {
		t.Fatalf("the same resolve again answered %d", code)
	}
	// two.txt: B keeps its version, the original.
	b.resolve(bs, "two.txt", web.KeepOriginal)
	// three.txt: B keeps both; the copy gets a plain name with A's name.
	both := b.resolve(bs, "three.txt", web.KeepBoth).Name
	if !strings.HasPrefix(both, "three (A ") || !strings.HasSuffix(both, ").txt") {
		t.Fatalf("keep both named the copy %q", both)
	}
	converge(t, time.Minute, a, b)

	for _, d := range []*device{a, b} {
		for name, want := range map[string]string{"one.txt": "A: one.txt", "two.txt": "B: two.txt", "three.txt": "B: three.txt", both: "A: three.txt"} {
			if got, _ := os.ReadFile(d.path(name)); string(got) != want {
				t.Errorf("%s: %s holds %q, want %q", d.name, name, got, want)
			}
		}
		if stray := strayNames(t, d.folder, ".conflict-"); len(stray) != 0 {
			t.Errorf("%s: conflict copies left: %q", d.name, stray)
		}
		if cs := d.conflicts(); len(cs) != 0 {
			t.Errorf("%s still lists %+v", d.name, cs)
		}
	}
	// What went is in the history: B's one.txt on A (replaced there) and
	// on B (replaced by A's resolution), and the copy of two.txt on B.
	if got := a.restoreKept("one.txt"); got != "B: one.txt" {
		t.Errorf("A restores one.txt as %q, want B's version", got)
	}
	if got := b.restoreKept("one.txt"); got != "B: one.txt" {
		t.Errorf("B restores one.txt as %q, want its version", got)
	}
	if got := b.restoreKept(resolveRequest(t, bs, "two.txt", "").Copy); got != "A: two.txt" {
		t.Errorf("B restores the copy of two.txt as %q, want A's version", got)
	}
	waitFor(t, 10*time.Second, "no conflicts in the status", func() bool {
		for _, d := range []*device{a, b} {
			if d.status().Folders[0].Conflicts != 0 {
				return false
			}
		}
		return true
	})
}
