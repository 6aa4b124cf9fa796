package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// versionInfo is one line of ferry versions --json.
type versionInfo struct {
	ID     uint64    `json:"id"`
	Size   int64     `json:"size"`
	Until  time.Time `json:"until"`
	Kind   string    `json:"kind"`
	Device string    `json:"device"` // empty: kept by d itself
}

// versions lists the versions of name d keeps itself (the current one
// first), leaving out those the connected devices keep.
func (d *device) versions(name string) []versionInfo {
	d.t.Helper()
	var vs []versionInfo
	for _, v := range d.allVersions(name) {
		if v.Device == "" {
			vs = append(vs, v)
		}
	}
	return vs
}

// allVersions lists the versions of name d and the devices connected to it
// keep.
func (d *device) allVersions(name string) []versionInfo {
	d.t.Helper()
	var vs []versionInfo
	if err := json.Unmarshal([]byte(d.ferry("versions", d.path(name), "--json")), &vs); err != nil {
		d.t.Fatalf("%s: versions --json: %v", d.name, err)
	}
	return vs
}

// B keeps the versions A's edits replace; a kept version comes back byte
// for byte, into another directory or in place, where it syncs to A and
// what it replaced is kept in turn.
func TestKeptVersionsRestore(t *testing.T) {
	a, b := startPair(t)
	edits := []string{"first draft\n", "second draft, longer than the first\n", "third draft\n"}
	var between time.Time
	for i, text := range edits {
		replaceFile(t, a.folder, a.path("notes/plan.txt"), []byte(text))
		a.ferry("scan", "docs")
		waitFor(t, 20*time.Second, "B has edit "+text, func() bool {
			got, _ := os.ReadFile(b.path("notes/plan.txt"))
			return string(got) == text
		})
		if i == 1 {
			time.Sleep(50 * time.Millisecond)
			between = time.Now()
			time.Sleep(50 * time.Millisecond)
		}
	}
	vs := b.versions("notes/plan.txt")
	if len(vs) != 3 || vs[0].Kind != "current" || vs[1].Kind != "edited" || vs[2].Kind != "edited" ||
		vs[1].Size != int64(len(edits[1])) || vs[2].Size != int64(len(edits[0])) {
		t.Fatalf("B's versions: %+v; want the current one and the two it replaced, newest first", vs)
	}
	if vs := a.versions("notes/plan.txt"); len(vs) != 1 {
		t.Errorf("A's own versions: %+v; want only the current one (A made the edits)", vs)
	}
	if vs := a.allVersions("notes/plan.txt"); len(vs) != 3 || vs[1].Device != b.id {
		t.Errorf("A's versions with B's: %+v; want the two B keeps listed too", vs)
	}

	out := filepath.Join(t.TempDir(), "restored")
	b.ferry("restore", b.path("notes/plan.txt"), "--version", strconv.FormatUint(vs[2].ID, 10), "--to", out)
	if got, _ := os.ReadFile(filepath.Join(out, "plan.txt")); string(got) != edits[0] {
		t.Fatalf("restored into %s: %q, want the first draft", out, got)
	}
	if _, stderr, code := b.try("restore", b.path("notes/plan.txt"), "--version", strconv.FormatUint(vs[2].ID, 10), "--to", out); code != 1 || stderr == "" {
		t.Errorf("restoring over a file in --to: exit %d, %q; want a one-line refusal", code, stderr)
	}

	b.ferry("restore", b.path("notes/plan.txt"), "--at", between.Format(time.RFC3339Nano))
	waitFor(t, 20*time.Second, "the second draft back on A", func() bool {
		got, _ := os.ReadFile(a.path("notes/plan.txt"))
		return string(got) == edits[1]
	})
	if got, _ := os.ReadFile(b.path("notes/plan.txt")); string(got) != edits[1] {
		t.Fatalf("B's plan.txt after restoring in place: %q", got)
	}
	after := b.versions("notes/plan.txt")
	if len(after) != 4 || after[1].Size != int64(len(edits[2])) {
		t.Errorf("B's versions after the restore: %+v; want the third draft kept too", after)
	}
	if _, stderr, code := b.try("restore", b.path("notes/plan.txt"), "--at", "2001-01-01"); code != 1 || stderr == "" {
		t.Errorf("restore before the oldest version: exit %d, %q; want a clear error", code, stderr)
	}
}

// files keeps the regular files of a snapshot: a folder restore brings back
// files, not empty directories.
func files(snap map[string]node) map[string]node {
	out := map[string]node{}
	for name, n := range snap {
		if n.kind == "file" {
			out[name] = n
		}
	}
	return out
}

// editRounds writes 30 files on a, then runs two rounds of edits, deletions
// and new files, each synced to b; it returns the files of a's folder
// between the rounds and a moment then.
func editRounds(t *testing.T, a, b *device) (then map[string]node, moment time.Time) {
	t.Helper()
	rng := rand.New(rand.NewPCG(13, 13))
	write := func(name string) {
		writeFile(t, a.path(name), randomBytes(rng.Uint64(), 1+rng.IntN(200<<10)), 0o644)
	}
	for i := range 30 {
		write(fmt.Sprintf("d%d/f%02d.bin", i%4, i))
	}
	converge(t, time.Minute, a, b)
	round := func(edit, del, add []int) {
		for _, i := range edit {
			write(fmt.Sprintf("d%d/f%02d.bin", i%4, i))
		}
		for _, i := range del {
			os.Remove(a.path(fmt.Sprintf("d%d/f%02d.bin", i%4, i)))
		}
		for _, i := range add {
			write(fmt.Sprintf("new/n%02d.bin", i))
		}
		converge(t, time.Minute, a, b)
	}
	round([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []int{25, 26, 27}, []int{1, 2})
	then = files(snapshot(t, a.folder))
	time.Sleep(20 * time.Millisecond)
	moment = time.Now()
	time.Sleep(20 * time.Millisecond)
	round([]int{5, 6, 7, 8, 9, 10, 11, 12}, []int{0, 1, 28}, []int{3, 4, 5})
	return then, moment
}

// A whole folder comes back as it was at a moment between two rounds of
// edits, byte for byte: into another directory, then in place, from where
// it syncs back to the device that made the later edits.
func TestFolderRestoreAtAMoment(t *testing.T) {
	a, b := startPair(t)
	then, moment := editRounds(t, a, b)

	out := wantFolderRestored(t, b, moment, then)
	if _, stderr, code := b.try("restore", "--folder", "docs", "--at", moment.Format(time.RFC3339Nano), "--to", out); code != 1 || stderr == "" {
		t.Errorf("a folder restore into a directory that is not empty: exit %d, %q", code, stderr)
	}

	b.ferry("restore", "--folder", "docs", "--at", moment.Format(time.RFC3339Nano), "--exact")
	converge(t, time.Minute, a, b)
	if diff := compare(then, files(snapshot(t, a.folder))); diff != "" {
		t.Fatalf("A after B restored the folder in place: %s", diff)
	}
}

// wantFolderRestored restores d's folder as it was at moment into a new
// directory, fails the test unless it holds exactly the files then, and
// returns the directory.
func wantFolderRestored(t *testing.T, d *device, moment time.Time, then map[string]node) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "then")
	d.ferry("restore", "--folder", "docs", "--at", moment.Format(time.RFC3339Nano), "--to", out)
	if diff := compare(then, files(snapshot(t, out))); diff != "" {
		t.Fatalf("%s restored the folder into %s, which is not the folder at the moment: %s", d.name, out, diff)
	}
	return out
}

// The laptop that made the edits keeps none of the versions they replaced:
// it restores the whole folder as it was from its backup's history, into
// a directory and in place.
func TestFolderRestoreFromTheBackup(t *testing.T) {
	a, b := receiveOnlyPair(t)
	os.Remove(a.path("notes.txt"))
	then, moment := editRounds(t, a, b)
	wantFolderRestored(t, a, moment, then) // from B's history
	wantFolderRestored(t, b, moment, then) // from its own
	a.ferry("restore", "--folder", "docs", "--at", moment.Format(time.RFC3339Nano), "--exact")
	converge(t, time.Minute, a, b)
	if diff := compare(then, files(snapshot(t, b.folder))); diff != "" {
		t.Fatalf("B after A restored the folder in place: %s", diff)
	}
}

// A laptop whose file was overwritten lists the versions its backup device
// keeps and restores one from there, without touching the backup, by time
// or by the version's number there.
func TestRestoreFromTheBackupsHistory(t *testing.T) {
	a, b := receiveOnlyPair(t)
	edits := []string{"from A\n", "the plan, as agreed on Monday\n", "overwritten by mistake\n"}
	var moment time.Time
	for i, text := range edits[1:] {
		replaceFile(t, a.folder, a.path("notes.txt"), []byte(text))
		a.ferry("scan", "docs")
		waitFor(t, 20*time.Second, "B has "+text, func() bool {
			got, _ := os.ReadFile(b.path("notes.txt"))
			return string(got) == text
		})
		if i == 0 {
			time.Sleep(20 * time.Millisecond)
			moment = time.Now()
			time.Sleep(20 * time.Millisecond)
		}
	}
	vs := a.allVersions("notes.txt")
	var fromB []versionInfo
	for _, v := range vs {
		if v.Device == b.id {
			fromB = append(fromB, v)
		}
	}
	if len(fromB) != 2 || fromB[0].Size != int64(len(edits[1])) {
		t.Fatalf("A lists %+v; want the two versions B keeps, newest first", vs)
	}
	out := t.TempDir()
	a.ferry("restore", a.path("notes.txt"), "--version", strconv.FormatUint(fromB[1].ID, 10)+"@"+b.id[:7], "--to", out)
	if got, _ := os.ReadFile(filepath.Join(out, "notes.txt")); string(got) != edits[0] {
		t.Fatalf("restored from B's version %d: %q, want %q", fromB[1].ID, got, edits[0])
	}
	a.ferry("restore", a.path("notes.txt"), "--at", moment.Format(time.RFC3339Nano))
	if got, _ := os.ReadFile(a.path("notes.txt")); string(got) != edits[1] {
		t.Fatalf("A after restoring from B's history: %q, want %q", got, edits[1])
	}
	waitFor(t, 20*time.Second, "the restored version on B", func() bool {
		got, _ := os.ReadFile(b.path("notes.txt"))
		return string(got) == edits[1]
	})
}

// A damaged block in the history is found by its hash: a restore that
// needs it fails with a clear error and leaves nothing that looks restored,
// the folder's status says so, and a version whose blocks are intact still
// comes back.
func TestDamagedHistoryIsNeverRestoredWrong(t *testing.T) {
	a, b := startPair(t)
	gone, kept := randomBytes(71, 300<<10), randomBytes(72, 200<<10)
	writeFile(t, a.path("gone.bin"), gone, 0o644)
	writeFile(t, a.path("kept.bin"), kept, 0o644)
	converge(t, time.Minute, a, b)
	time.Sleep(20 * time.Millisecond)
	moment := time.Now()
	time.Sleep(20 * time.Millisecond)
	packs, _ := filepath.Glob(filepath.Join(b.home, "history", "blocks", "packs", "*.pack"))
	before := len(packs)
	os.Remove(a.path("gone.bin"))
	converge(t, time.Minute, a, b)
	packs, _ = filepath.Glob(filepath.Join(b.home, "history", "blocks", "packs", "*.pack"))
	if len(packs) != 1 || before != 0 {
		t.Fatalf("B's packs: %v (before the deletion: %d); want the one pack holding gone.bin", packs, before)
	}
	// Flip a byte in the middle of gone.bin's data in the pack.
	pack, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(pack, gone[100<<10:100<<10+64])
	if i < 0 {
		t.Fatal("gone.bin's bytes are not in the pack")
	}
	pack[i] ^= 0xff
	if err := os.WriteFile(packs[0], pack, 0o600); err != nil {
		t.Fatal(err)
	}
	vs := b.versions("gone.bin")
	out := t.TempDir()
	_, stderr, code := b.try("restore", b.path("gone.bin"), "--version", strconv.FormatUint(vs[0].ID, 10), "--to", out)
	if code != 1 || !strings.Contains(stderr, "damaged") {
		t.Fatalf("restore of a damaged version: exit %d, %q; want a clear error", code, stderr)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("a failed restore left %v in %s", ents, out)
	}
	// A folder restore that needs the block fails whole: nothing that
	// looks like the folder is left.
	base := t.TempDir()
	_, stderr, code = b.try("restore", "--folder", "docs", "--at", moment.Format(time.RFC3339Nano), "--to", filepath.Join(base, "then"))
	if ents, _ := os.ReadDir(base); code != 1 || !strings.Contains(stderr, "damaged") || len(ents) != 0 {
		t.Fatalf("folder restore needing a damaged block: exit %d, %q, left %v", code, stderr, ents)
	}
	if errs := b.folderErrors(); len(errs) != 1 || !strings.Contains(errs[0], "damaged") {
		t.Errorf("B's folder errors %q; want one saying the history is damaged", errs)
	}
	// An edit of kept.bin: its old version is kept too, intact.
	replaceFile(t, a.folder, a.path("kept.bin"), []byte("short now\n"))
	converge(t, time.Minute, a, b)
	kv := b.versions("kept.bin")
	b.ferry("restore", b.path("kept.bin"), "--version", strconv.FormatUint(kv[1].ID, 10), "--to", out)
	if got, _ := os.ReadFile(filepath.Join(out, "kept.bin")); !bytes.Equal(got, kept) {
		t.Errorf("kept.bin restored with %d bytes, want its old %d", len(got), len(kept))
	}
}
