package lan

import (
	"log/slog"
)

// sendState remembers, per interface and operation, whether the last
// attempt failed, so that a failure is logged when it starts or changes
// and not at every announcement. It belongs to the announce loop.
type sendState struct {
	log     *slog.Logger
	failing map[string]string // key → last error text
	seen    map[string]bool   // keys noted this round
	joined  map[int]bool      // interface indexes in the IPv6 group
	present map[int]bool      // indexes seen this round
}

func newSendState(log *slog.Logger) *sendState {
	return &sendState{log: log, failing: map[string]string{}, joined: map[int]bool{}}
}

// begin starts a round of announcements.
func (st *sendState) begin() {
	st.seen = map[string]bool{}
	st.present = map[int]bool{}
}

// end forgets what belongs to interfaces that are gone, so that they are
// joined and reported afresh if they come back.
func (st *sendState) end() {
	for k := range st.failing {
		if !st.seen[k] {
			delete(st.failing, k)
		}
	}
	for idx := range st.joined {
		if !st.present[idx] {
			delete(st.joined, idx)
		}
	}
}

// note records the outcome of operation key and logs a change of state.
func (st *sendState) note(key string, err error) {
	st.seen[key] = true
	prev, failed := st.failing[key]
	switch {
	case err == nil && failed:
		delete(st.failing, key)
		st.log.Debug("lan: working again", "op", key)
	case err != nil && (!failed || prev != err.Error()):
		st.failing[key] = err.Error()
		st.log.Debug("lan: failing", "op", key, "err", err)
	}
}

// join runs do unless the interface with index already joined the group.
func (st *sendState) join(index int, do func() error) error {
	st.present[index] = true
	if st.joined[index] {
		return nil
	}
	if err := do(); err != nil {
		return err
	}
	st.joined[index] = true
	return nil
}
