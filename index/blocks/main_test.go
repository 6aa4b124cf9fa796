package blocks

import (
	"os"
	"testing"
)

// TestMain runs the crash test's worker when the test binary is started as
// one (see TestCrashKill9), and the tests otherwise.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashWorkerEnv); dir != "" {
		os.Exit(crashWorker(dir))
	}
	os.Exit(m.Run())
}
