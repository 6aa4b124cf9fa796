package lan

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestSendStateLogsChangesOnly(t *testing.T) {
	var buf bytes.Buffer
	st := newSendState(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	unreachable := errors.New("network is unreachable")
	rounds := []struct {
		err  error
		logs int // lines so far
	}{
		{unreachable, 1},
		{unreachable, 1},
		{unreachable, 1},
		{errors.New("no buffer space"), 2},
		{nil, 3},
		{nil, 3},
		{unreachable, 4},
	}
	for i, r := range rounds {
		st.begin()
		st.note("send eth0", r.err)
		st.end()
		if n := strings.Count(buf.String(), "\n"); n != r.logs {
			t.Fatalf("round %d: %d log lines, want %d:\n%s", i, n, r.logs, buf.String())
		}
	}
	// eth0 vanishes for a round: its failure is forgotten and reported again.
	st.begin()
	st.end()
	st.begin()
	st.note("send eth0", unreachable)
	st.end()
	if n := strings.Count(buf.String(), "\n"); n != 5 {
		t.Errorf("%d log lines after the interface came back, want 5", n)
	}
}

func TestSendStateJoinsOnce(t *testing.T) {
	st := newSendState(slog.New(slog.DiscardHandler))
	joins := 0
	join := func() error { joins++; return nil }
	fail := func() error { return errors.New("no such device") }
	round := func(f func() error, indexes ...int) {
		st.begin()
		for _, i := range indexes {
			_ = st.join(i, f)
		}
		st.end()
	}
	round(fail, 2) // a failed join is retried
	round(join, 2)
	round(join, 2, 3)
	round(join, 3) // index 2 gone
	round(join, 2)
	if joins != 3 {
		t.Errorf("%d joins, want 3 (2, 3, and 2 again after it vanished)", joins)
	}
}
