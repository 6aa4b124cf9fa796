package enginetest

import (
	"fmt"

	"ferry/engine"
)

// Scan asks device i to scan its whole folder.
func (s *Sim) Scan(i int) {
	if d := s.devs[i]; d.Running() {
		s.logf("%s scan requested", d.Name)
		d.step(engine.ScanRequest{})
	}
}

// ScanAll asks every running device to scan.
func (s *Sim) ScanAll() {
	for i := range s.devs {
		s.Scan(i)
	}
}

// Crash stops device i: its connections drop, and its engine, the work it
// had not handed out, its operations in flight and, at random, a
// transaction being committed are lost. Its folder stays as it is.
func (s *Sim) Crash(i int) {
	d := s.devs[i]
	if !d.Running() {
		return
	}
	for _, l := range s.links {
		if l.a == i || l.b == i {
			s.disconnect(l)
		}
	}
	d.crash(s.rand.IntN(2) == 0)
	s.logf("%s crashed", d.Name)
}

// Restart starts crashed device i from its committed index, as a daemon
// does: it scans its folder and connects to its peers.
func (s *Sim) Restart(i int) error {
	d := s.devs[i]
	if d.Running() {
		return nil
	}
	if err := d.start(s.now); err != nil {
		return err
	}
	s.logf("%s restarted", d.Name)
	s.Scan(i)
	for _, l := range s.links {
		if l.a == i || l.b == i {
			s.connect(l)
		}
	}
	return nil
}

// Configure changes device i's configuration with fn, as a user editing
// the folder's settings does: the running engine takes it as a
// ConfigChange, and a restart keeps it.
func (s *Sim) Configure(i int, fn func(*engine.Config)) {
	d := s.devs[i]
	fn(&d.cfg)
	s.logf("%s configured: type %v, devices %d", d.Name, d.cfg.Type, len(d.cfg.Devices))
	if d.Running() {
		d.step(engine.ConfigChange{Config: d.cfg})
	}
}

// mustRestart restarts device i; an engine that cannot start from its own
// committed index is a bug worth stopping for.
func (s *Sim) mustRestart(i int) {
	if err := s.Restart(i); err != nil {
		panic(fmt.Sprintf("enginetest: %v", err))
	}
}

// Disconnect keeps devices i and j apart until Connect.
func (s *Sim) Disconnect(i, j int) {
	if l := s.linkOf(i, j); l != nil {
		l.enabled = false
		s.disconnect(l)
	}
}

// Connect lets devices i and j connect again, and connects them.
func (s *Sim) Connect(i, j int) {
	if l := s.linkOf(i, j); l != nil {
		l.enabled = true
		s.connect(l)
	}
}

// Isolate disconnects device i from every peer.
func (s *Sim) Isolate(i int) {
	for j := range s.devs {
		if j != i {
			s.Disconnect(i, j)
		}
	}
}

// Heal stops all faults, restarts crashed devices and connects every link.
func (s *Sim) Heal() error {
	s.opt.Faults = Faults{}
	for i, d := range s.devs {
		if !d.Running() {
			if err := s.Restart(i); err != nil {
				return err
			}
		}
	}
	for _, l := range s.links {
		l.enabled = true
		s.connect(l)
	}
	return nil
}

// The user's actions on device i's folder, made at the simulated time.

// Write sets the content of file name on device i.
func (s *Sim) Write(i int, name string, data []byte) error {
	s.logf("%s user writes %s (%d bytes)", s.devs[i].Name, name, len(data))
	return s.devs[i].FS.WriteFile(name, data, s.now)
}

// Append adds data to file name on device i.
func (s *Sim) Append(i int, name string, data []byte) error {
	s.logf("%s user appends to %s (%d bytes)", s.devs[i].Name, name, len(data))
	return s.devs[i].FS.Append(name, data, s.now)
}

// Remove deletes name, and everything under it, on device i.
func (s *Sim) Remove(i int, name string) error {
	s.logf("%s user removes %s", s.devs[i].Name, name)
	return s.devs[i].FS.RemoveAll(name)
}

// Rename moves from to to on device i.
func (s *Sim) Rename(i int, from, to string) error {
	s.logf("%s user renames %s to %s", s.devs[i].Name, from, to)
	return s.devs[i].FS.Rename(from, to)
}

// Mkdir creates directory name (mode 0755) on device i.
func (s *Sim) Mkdir(i int, name string) error {
	s.logf("%s user makes dir %s", s.devs[i].Name, name)
	return s.devs[i].FS.Mkdir(name, 0o755, s.now)
}

// Symlink makes name a symlink to target on device i.
func (s *Sim) Symlink(i int, target, name string) error {
	s.logf("%s user links %s -> %s", s.devs[i].Name, name, target)
	return s.devs[i].FS.Symlink(target, name, s.now)
}

// Chmod sets the permission bits of name on device i.
func (s *Sim) Chmod(i int, name string, mode uint32) error {
	s.logf("%s user chmods %s %o", s.devs[i].Name, name, mode)
	return s.devs[i].FS.Chmod(name, mode)
}

// Touch sets the modification time of name on device i.
func (s *Sim) Touch(i int, name string, mtime int64) error {
	s.logf("%s user touches %s", s.devs[i].Name, name)
	return s.devs[i].FS.Touch(name, mtime)
}
