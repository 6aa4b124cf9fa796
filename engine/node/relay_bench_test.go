package node

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRelayedSync syncs a 64 MiB file of random bytes from one
// device to another over loopback, directly and through a relay, to show
// what relaying costs. MB/s is the file's bytes over the time from the
// scan that finds it to its arrival whole.
func BenchmarkRelayedSync(b *testing.B) {
	const size = 64 << 20
	for _, mode := range []string{"direct", "relayed"} {
		b.Run(mode, func(b *testing.B) {
			_, from, to := relayedTrio(b)
			if mode == "direct" {
				trust(b, from, to.id, []string{to.addr}, "docs")
			}
			deadline := time.Now().Add(30 * time.Second)
			for want := map[string]string{"direct": "address", "relayed": "relay"}[mode]; peerStatus(b, from, to.id).Via != want; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("not connected %s", mode)
				}
			}
			src, dst := from.folders["docs"].cfg.Path, to.folders["docs"].cfg.Path
			rng := rand.New(rand.NewPCG(uint64(b.N), 9))
			b.SetBytes(size)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				data := make([]byte, size)
				for j := range data {
					data[j] = byte(rng.Uint32())
				}
				name := fmt.Sprintf("f%d.bin", i)
				if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := from.Scan(b.Context(), "docs", ""); err != nil {
					b.Fatal(err)
				}
				for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Millisecond) {
					if fi, err := os.Stat(filepath.Join(dst, name)); err == nil && fi.Size() == size {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("%s did not arrive", name)
					}
				}
				b.StopTimer()
				if got, _ := os.ReadFile(filepath.Join(dst, name)); !bytes.Equal(got, data) {
					b.Fatalf("%s arrived different", name)
				}
				b.StartTimer()
			}
		})
	}
}
