package engine

import (
	"slices"
	"testing"
	"time"

	"ferry/proto"
)

func TestPeerMassDeleteHeld(t *testing.T) {
	files := fileRecs("f", 100)
	var gone []proto.FileInfo
	for i, f := range files {
		if i%5 != 2 {
			gone = append(gone, gonePeer(f))
		}
	}
	start := func(t *testing.T) *rig {
		r := newRig(t, DefaultGuard, files, files)
		rd := r.receive(gone...)
		if ev := eventsOf[HeldEvent](rd); len(ev) != 1 || ev[0] != (HeldEvent{Remote: 80}) {
			t.Errorf("events %+v, want a HeldEvent of 80 remote deletions", rd.Events)
		}
		if got := append(deleteNames(rd), deleteNames(r.later(time.Minute))...); len(got) != 0 {
			t.Fatalf("deleted %v the guard should hold", got)
		}
		st := r.e.Status()
		if st.State != "held" || st.InSync || st.HeldRemote != 80 || st.HeldLocal != 0 || len(st.HeldSample) != maxSample {
			t.Errorf("status %+v, want 80 remote deletions held", st)
		}
		if want := namesOf(gone)[:maxSample]; !slices.Equal(st.HeldSample, want) {
			t.Errorf("held sample %v, want %v", st.HeldSample, want)
		}
		return r
	}
	t.Run("confirm", func(t *testing.T) {
		r := start(t)
		rd := r.step(ConfirmDeletes{})
		rd.Ops = append(rd.Ops, r.later(time.Minute).Ops...)
		if got := deleteNames(rd); !slices.Equal(got, namesOf(gone)) {
			t.Errorf("confirm deleted %d files, want %d", len(got), len(gone))
		}
		for _, op := range opsOf[DeleteOp](rd) {
			if op.Expect.Absent || op.Expect.Stat.Name != op.File.Name || op.Expect.Stat.Inode == 0 {
				t.Errorf("delete %+v, want it to expect the local file", op)
			}
		}
		if st := r.e.Status(); st.HeldRemote != 0 {
			t.Errorf("status %+v after confirm, want nothing held", st)
		}
	})
	t.Run("revert", func(t *testing.T) {
		r := start(t)
		rd := r.step(RevertDeletes{})
		back := announced(rd, devP, false)
		if got := namesOf(back); !slices.Equal(got, namesOf(gone)) {
			t.Fatalf("revert announced %d files, want the %d held", len(got), len(gone))
		}
		for _, f := range back {
			if c := f.Version.Compare(gonePeer(fileRec(f.Name)).Version); c != proto.Greater {
				t.Errorf("%s: version %v is %v the deletion, want greater", f.Name, f.Version, c)
			}
		}
		if got := deleteNames(r.later(time.Minute)); len(got) != 0 {
			t.Errorf("deleted %v after revert", got)
		}
		if st := r.e.Status(); st.HeldRemote != 0 || st.State != "idle" || st.LocalFiles != 100 {
			t.Errorf("status %+v after revert, want idle with 100 files", st)
		}
	})
}

func TestPeerDeletesLetThrough(t *testing.T) {
	files := fileRecs("f", 100)
	t.Run("few", func(t *testing.T) {
		r := newRig(t, DefaultGuard, files, files)
		var gone []proto.FileInfo
		for _, f := range files[:10] {
			gone = append(gone, gonePeer(f))
		}
		rd := r.receive(gone...)
		rd.Ops = append(rd.Ops, r.later(time.Minute).Ops...)
		if got := deleteNames(rd); !slices.Equal(got, namesOf(gone)) {
			t.Errorf("deleted %v, want %v", got, namesOf(gone))
		}
		if st := r.e.Status(); st.HeldRemote != 0 {
			t.Errorf("status %+v, want nothing held", st)
		}
	})
	t.Run("a mass rename", func(t *testing.T) {
		r := newRig(t, DefaultGuard, files, files)
		var update []proto.FileInfo
		for _, f := range files[:80] {
			moved := f
			moved.Name = "moved/" + f.Name
			moved.Version = vec(0x22, 2)
			update = append(update, moved)
		}
		for _, f := range files[:80] {
			update = append(update, gonePeer(f))
		}
		rd := r.receive(update...)
		pulls := opsOf[PullOp](rd)
		if len(pulls) != 80 {
			t.Errorf("pulled %d new names, want 80", len(pulls))
		}
		// Deletions wait for the creations; then the old names go.
		var dels []string
		for _, p := range pulls {
			f := p.File
			f.Inode = uint64(1000 + len(r.disk))
			r.disk[f.Name] = onDisk{st: statOf(f), blocks: f.Blocks}
			dels = append(dels, deleteNames(r.step(OpResult{Name: f.Name, Version: f.Version, Stat: statOf(f)}))...)
		}
		dels = append(dels, deleteNames(r.later(time.Minute))...)
		if len(dels) != 80 {
			t.Errorf("deleted %d old names, want 80", len(dels))
		}
		if st := r.e.Status(); st.HeldRemote != 0 {
			t.Errorf("status %+v, want nothing held", st)
		}
	})
	t.Run("confirmed past the peer's guard", func(t *testing.T) {
		r := newRig(t, DefaultGuard, files, files)
		var gone []proto.FileInfo
		for _, f := range files[:80] {
			f := gonePeer(f)
			f.Confirmed = true
			gone = append(gone, f)
		}
		rd := r.receive(gone...)
		rd.Ops = append(rd.Ops, r.later(time.Minute).Ops...)
		if got := len(deleteNames(rd)); got != 80 {
			t.Errorf("deleted %d, want the 80 the peer's user confirmed", got)
		}
		if st := r.e.Status(); st.HeldRemote != 0 {
			t.Errorf("status %+v, want nothing held", st)
		}
	})
	t.Run("guard off", func(t *testing.T) {
		r := newRig(t, Guard{}, files, files)
		var gone []proto.FileInfo
		for _, f := range files {
			gone = append(gone, gonePeer(f))
		}
		rd := r.receive(gone...)
		rd.Ops = append(rd.Ops, r.later(time.Minute).Ops...)
		if got := len(deleteNames(rd)); got != 100 {
			t.Errorf("deleted %d, want every file", got)
		}
	})
}
