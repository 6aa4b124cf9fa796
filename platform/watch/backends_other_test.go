//go:build !linux

package watch

import "testing"

// eachBackend runs test with notify, the only backend here.
func eachBackend(t *testing.T, test func(t *testing.T)) {
	t.Run("notify", test)
}
