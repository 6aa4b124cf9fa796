package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Propagation latency: how long a small new file takes from being written
// on one device to being readable, complete, on the other, found by the
// watchers alone.
const (
	latencySamples     = 30                     // per ferry and Syncthing with a 1 s watcher delay
	latencySamplesSlow = 5                      // for Syncthing's default 10 s delay
	latencyPoll        = 2 * time.Millisecond   // how often the target path is read
	latencyGap         = 200 * time.Millisecond // pause between samples, so they are independent
)

// BenchmarkPropagationLatency measures the latency of ferry and of
// Syncthing 1.19 with its default watcher delay (10 s) and with a 1 s
// delay, and logs how they compare.
func BenchmarkPropagationLatency(b *testing.B) {
	needSyncthing(b)
	var ferry, st1, st10 latencies
	b.Run("ferry", func(b *testing.B) { ferry = latencyRuns(b, latencySamples, latencyFerry) })
	b.Run("syncthing-delay1s", func(b *testing.B) {
		st1 = latencyRuns(b, latencySamples, func(b *testing.B, n int) latencies { return latencySyncthing(b, n, 1) })
	})
	b.Run("syncthing-delay10s", func(b *testing.B) {
		st10 = latencyRuns(b, latencySamplesSlow, func(b *testing.B, n int) latencies { return latencySyncthing(b, n, 10) })
	})
	b.Logf("propagation latency of a small new file, median / max: ferry %s (%d samples); "+
		"syncthing fsWatcherDelayS=1 %s (%d samples, ferry %s faster by median); "+
		"syncthing default fsWatcherDelayS=10 %s (only %d samples: each takes ~10 s; ferry %s faster by median)",
		ferry, len(ferry), st1, len(st1), fmtSpeedup(st1.median(), ferry.median()),
		st10, len(st10), fmtSpeedup(st10.median(), ferry.median()))
}

// latencies are the samples of one tool.
type latencies []time.Duration

func (l latencies) median() time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(l))
	return s[len(s)/2]
}

func (l latencies) max() time.Duration {
	if len(l) == 0 {
		return 0
	}
	return slices.Max(l)
}

func (l latencies) String() string {
	return fmt.Sprintf("%.0f / %.0f ms", ms(l.median()), ms(l.max()))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencyRuns takes samples samples per iteration and reports the median
// and the maximum.
func latencyRuns(b *testing.B, samples int, run func(*testing.B, int) latencies) latencies {
	var all latencies
	for range b.N {
		all = append(all, run(b, samples)...)
	}
	b.ReportMetric(ms(all.median()), "median-ms")
	b.ReportMetric(ms(all.max()), "max-ms")
	b.Logf("%d samples: median %.1f ms, max %.1f ms", len(all), ms(all.median()), ms(all.max()))
	return all
}

// latencyFerry times samples new files from A to B between two idle,
// connected ferry daemons.
func latencyFerry(b *testing.B, samples int) latencies {
	b.StopTimer()
	src, dst := newDevice(b, "A"), newDevice(b, "B")
	writeFile(b, src.path("lat/.keep"), nil, 0o644)
	pair(src, dst)
	src.start()
	dst.start()
	converge(b, time.Minute, src, dst)
	b.StartTimer()
	defer b.StopTimer()
	return sampleLatency(b, samples, 30*time.Second, src.folder, dst.folder, func() { dumpFerry(b, src, dst) })
}

// latencySyncthing times samples new files from A to B between two idle,
// connected Syncthing instances whose watcher waits delayS seconds.
func latencySyncthing(b *testing.B, samples, delayS int) latencies {
	b.StopTimer()
	src, dst := newSTNode(b, "A"), newSTNode(b, "B")
	writeFile(b, filepath.Join(src.folder, "lat/.keep"), nil, 0o644)
	stPair(src, dst)
	stSetWatcher(b, src, delayS)
	stSetWatcher(b, dst, delayS)
	src.start()
	dst.start()
	dst.waitComplete(time.Minute, 1, 0, src)
	waitFor(b, 30*time.Second, "syncthing A idle and connected", func() bool {
		s, err := src.dbStatus()
		_, cerr := src.wireBytes(dst.id)
		return err == nil && cerr == nil && s.State == "idle"
	})
	b.StartTimer()
	defer b.StopTimer()
	return sampleLatency(b, samples, 2*time.Minute, src.folder, dst.folder, func() { dst.dump(src) })
}

// stSetWatcher turns on the folder watcher of n's config with a delay of
// delayS seconds. Syncthing reads folder options from the folder element's
// attributes, and a config without them has the watcher off.
func stSetWatcher(b *testing.B, n *stNode, delayS int) {
	b.Helper()
	path := filepath.Join(n.home, "config.xml")
	cfg, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	anchor := fmt.Sprintf(`<folder id="%s" `, stFolderID)
	if bytes.Count(cfg, []byte(anchor)) != 1 {
		b.Fatalf("syncthing %s: config has no single %s", n.name, anchor)
	}
	watch := fmt.Sprintf(`%sfsWatcherEnabled="true" fsWatcherDelayS="%d" `, anchor, delayS)
	cfg = bytes.Replace(cfg, []byte(anchor), []byte(watch), 1)
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		b.Fatal(err)
	}
}

// sampleLatency writes samples small files with unique names and contents
// under src/lat and times each until it is readable with its content under
// dst/lat.
func sampleLatency(b *testing.B, samples int, timeout time.Duration, src, dst string, dump func()) latencies {
	b.Helper()
	var out latencies
	for i := range samples {
		name := filepath.Join("lat", fmt.Sprintf("sample-%d-%02d.txt", time.Now().UnixNano(), i))
		data := fmt.Appendf(nil, "sample %d: %x\n", i, randomBytes(uint64(i)+7777, 64))
		start := time.Now()
		writeFile(b, filepath.Join(src, name), data, 0o644)
		for !sameContent(filepath.Join(dst, name), data) {
			if time.Since(start) > timeout {
				dump()
				b.Fatalf("sample %d (%s) not on the target after %v", i, name, timeout)
			}
			time.Sleep(latencyPoll)
		}
		out = append(out, time.Since(start))
		time.Sleep(latencyGap)
	}
	return out
}

// needSyncthing installs Syncthing from Debian when it is missing, as `make
// bench-deps` does, and skips the benchmark only when that is impossible.
func needSyncthing(b *testing.B) {
	b.Helper()
	if _, err := exec.LookPath("syncthing"); err == nil {
		return
	}
	cmd := exec.Command("sh", "-c", "apt-get update -qq && apt-get install -y -qq syncthing")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if _, lerr := exec.LookPath("syncthing"); lerr != nil {
		b.Skipf("syncthing is not installed and apt-get could not install it (%v): %s",
			err, strings.TrimSpace(tail(string(out), 500)))
	}
}
