package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// progressStatus is what the progress test reads of /api/status.
type progressStatus struct {
	Folders []struct {
		InSync    bool  `json:"inSync"`
		NeedFiles int   `json:"needFiles"`
		NeedBytes int64 `json:"needBytes"`
		Pulling   []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
			Done int64  `json:"done"`
		} `json:"pulling"`
		PullingFiles int `json:"pullingFiles"`
	} `json:"folders"`
}

// writeRandomFile writes size bytes of random data to path in pieces.
func writeRandomFile(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const piece = 8 << 20
	for off := 0; off < size; off += piece {
		if _, err := f.Write(randomBytes(uint64(off/piece+1), min(piece, size-off))); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// One large file pulled by a real daemon shows steady progress: the
// folder's needBytes drops many times before the file is there, the status
// names the file with its bytes in place, and `ferry status --watch`,
// writing to a pipe, prints one plain view per interval with the file's
// percent. The sender is paced by stopping and continuing its process, so
// the pull takes a while on any machine.
func TestLargeFileProgress(t *testing.T) {
	const size = 192 << 20
	a, b := newDevice(t, "A"), newDevice(t, "B")
	writeRandomFile(t, a.path("big.bin"), size)
	pair(a, b)
	a.start()
	waitFor(t, time.Minute, "A has hashed big.bin", func() bool {
		s := a.status()
		return len(s.Folders) == 1 && s.Folders[0].InSync && s.Folders[0].LocalFiles == 1
	})
	stopped := true
	pause := func(stop bool) {
		sig := syscall.SIGCONT
		if stop {
			sig = syscall.SIGSTOP
		}
		if err := a.cmd.Process.Signal(sig); err != nil {
			t.Fatalf("signal A: %v", err)
		}
		stopped = stop
	}
	pause(true)
	t.Cleanup(func() {
		if stopped {
			pause(false)
		}
	})
	b.start()

	watchOut := &lockedBuffer{}
	watch := b.command("status", "--watch", "--interval", "200ms")
	watch.Stdout, watch.Stderr = watchOut, watchOut
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	watchDone := make(chan error, 1)
	go func() { watchDone <- watch.Wait() }()
	watchEnded := false
	t.Cleanup(func() {
		if !watchEnded {
			watch.Process.Kill()
			<-watchDone
		}
	})

	var (
		seen      []int64 // needBytes while big.bin was being pulled, as it changed
		named     bool    // a status named big.bin with part of it in place
		watchSeen bool    // the watch printed big.bin being pulled
		done      bool
	)
	deadline := time.Now().Add(4 * time.Minute)
	for !done {
		if time.Now().After(deadline) {
			t.Fatalf("big.bin not pulled in time; needBytes went %v\nB's log:\n%s", seen, tail(b.log.String(), 3000))
		}
		pause(false)
		time.Sleep(10 * time.Millisecond)
		pause(true)
		time.Sleep(60 * time.Millisecond)
		body, ok := b.apiGet("/api/status")
		if !ok {
			continue
		}
		var st progressStatus
		if err := json.Unmarshal(body, &st); err != nil || len(st.Folders) != 1 {
			t.Fatalf("status %s: %v", body, err)
		}
		f := st.Folders[0]
		if f.NeedBytes < 0 || f.NeedBytes > size {
			t.Fatalf("needBytes %d of a %d byte file", f.NeedBytes, size)
		}
		for _, p := range f.Pulling {
			if p.Name != "big.bin" || p.Size != size || p.Done < 0 || p.Done > size || f.PullingFiles != 1 {
				t.Fatalf("pulling %+v (%d in all), want big.bin of %d bytes", p, f.PullingFiles, size)
			}
			named = named || (p.Done > 0 && p.Done < size)
		}
		if f.NeedFiles == 1 && f.NeedBytes > 0 && f.NeedBytes < size {
			if n := len(seen); n > 0 && f.NeedBytes > seen[n-1] {
				t.Fatalf("needBytes rose from %d to %d while big.bin was pulled", seen[n-1], f.NeedBytes)
			}
			if n := len(seen); n == 0 || f.NeedBytes != seen[n-1] {
				seen = append(seen, f.NeedBytes)
			}
		}
		if !watchSeen && strings.Contains(watchOut.String(), "pulling   big.bin") {
			watchSeen = true
			watch.Process.Signal(os.Interrupt)
		}
		done = f.InSync && f.NeedFiles == 0 && fileExists(b.path("big.bin"))
		if done && (f.NeedBytes != 0 || len(f.Pulling) != 0 || f.PullingFiles != 0) {
			t.Fatalf("in sync with needBytes %d and pulls %+v left", f.NeedBytes, f.Pulling)
		}
	}
	pause(false)
	t.Logf("needBytes took %d values while big.bin was pulled", len(seen))
	if len(seen) < 3 {
		t.Errorf("needBytes took %d values between start and end of the pull (%v), want at least 3", len(seen), seen)
	}
	if !named {
		t.Error("no status named big.bin with part of it in place")
	}
	if sumFile(t, a.path("big.bin")) != sumFile(t, b.path("big.bin")) {
		t.Fatal("big.bin differs on B")
	}
	if !watchSeen {
		watch.Process.Signal(os.Interrupt)
	}
	select {
	case err := <-watchDone:
		watchEnded = true
		if err != nil {
			t.Errorf("status --watch ended with %v:\n%s", err, watchOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("status --watch did not stop on an interrupt")
	}
	checkWatchOutput(t, watchOut.String(), watchSeen)
}

// checkWatchOutput checks what `ferry status --watch` printed to a pipe:
// several plain views, one of them with big.bin being pulled.
func checkWatchOutput(t *testing.T, out string, sawPulling bool) {
	t.Helper()
	if strings.Contains(out, "\x1b") {
		t.Errorf("status --watch wrote escape codes to a pipe:\n%q", out)
	}
	if views := strings.Count(out, "This device "); views < 2 {
		t.Errorf("status --watch printed %d views:\n%s", views, out)
	}
	if !sawPulling {
		t.Errorf("no view of status --watch showed big.bin being pulled:\n%s", out)
	}
	for _, view := range strings.Split(out, "\nThis device ") {
		if i := strings.Index(view, "pulling   big.bin"); i >= 0 {
			line, _, _ := strings.Cut(view[i:], "\n")
			if !strings.Contains(line, "% of 192.0 MiB") {
				t.Errorf("the pulling line %q lacks the file's percent", line)
			}
		}
	}
}
