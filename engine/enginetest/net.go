package enginetest

import (
	"fmt"
	"slices"

	"ferry/engine"
	"ferry/proto"
)

// link joins two devices that may connect. A connection carries two
// ordered queues of messages, one per direction.
type link struct {
	a, b    int
	enabled bool  // false while the test keeps the devices apart
	conn    *conn // nil while not connected
	closing bool  // a device asked to close the connection
}

type conn struct {
	q [2][]proto.Message // q[0] from a to b, q[1] from b to a
	// tokens are the engine's tokens of paced messages, told back to the
	// sender as each is delivered.
	tokens map[proto.Message]uint64
}

// ends returns the sending and receiving device of direction dir.
func (l *link) ends(dir int) (from, to int) {
	if dir == 0 {
		return l.a, l.b
	}
	return l.b, l.a
}

// dirFrom returns the direction in which dev sends.
func (l *link) dirFrom(dev int) int {
	if dev == l.a {
		return 0
	}
	return 1
}

func (l *link) String() string { return fmt.Sprintf("%d-%d", l.a, l.b) }

// linkOf returns the link between devices i and j, nil if there is none.
func (s *Sim) linkOf(i, j int) *link {
	for _, l := range s.links {
		if (l.a == i && l.b == j) || (l.a == j && l.b == i) {
			return l
		}
	}
	return nil
}

// connect opens a connection on l: each side sends its Hello first.
func (s *Sim) connect(l *link) {
	if l.conn != nil || !l.enabled || !s.devs[l.a].Running() || !s.devs[l.b].Running() {
		return
	}
	l.conn = &conn{}
	for dir := range 2 {
		from, to := l.ends(dir)
		l.conn.q[dir] = append(l.conn.q[dir], s.hello(from, to))
	}
	s.logf("connect %s-%s", s.devs[l.a].Name, s.devs[l.b].Name)
}

// hello is what device from says when it connects to device to. With the
// Forget fault it claims to hold nothing of to's index, which makes to send
// everything again.
func (s *Sim) hello(from, to int) *proto.Hello {
	fh, _ := s.devs[from].eng.Hello(s.devs[to].ID)
	if s.chance(s.opt.Faults.Forget) {
		fh.SeenIndexID, fh.SeenSequence = 0, 0
		s.logf("%s forgets what it saw of %s", s.devs[from].Name, s.devs[to].Name)
	}
	return &proto.Hello{DeviceName: s.devs[from].Name, Folders: []proto.FolderHello{fh}}
}

// disconnect closes l's connection: what was in flight is lost and both
// sides see the peer go down.
func (s *Sim) disconnect(l *link) {
	if l.conn == nil {
		return
	}
	l.conn = nil
	for _, i := range []int{l.a, l.b} {
		other := l.a + l.b - i
		if d := s.devs[i]; d.Running() {
			d.step(engine.PeerDown{Device: s.devs[other].ID})
		}
	}
	s.logf("disconnect %s-%s", s.devs[l.a].Name, s.devs[l.b].Name)
}

// send queues a message from device from on its connection to the
// receiver; with no connection the engine was told the peer is down and the
// message is lost with the connection.
func (s *Sim) send(from int, out engine.Outgoing) {
	to := s.index(out.To)
	l := s.linkOf(from, to)
	if l == nil || l.conn == nil {
		s.logf("%s: message to %s lost: not connected", s.devs[from].Name, s.devs[to].Name)
		return
	}
	msg := out.Msg
	if c, ok := msg.(*proto.Close); ok {
		// A daemon closes the connection and the peer redials.
		s.logf("%s closes its connection to %s: %s", s.devs[from].Name, s.devs[to].Name, c.Reason)
		l.closing = true
		s.closes++
		return
	}
	if u, ok := msg.(*proto.IndexUpdate); ok {
		msg = cloneUpdate(u)
	}
	if out.Token != 0 {
		if l.conn.tokens == nil {
			l.conn.tokens = make(map[proto.Message]uint64)
		}
		l.conn.tokens[msg] = out.Token
	}
	dir := l.dirFrom(from)
	l.conn.q[dir] = append(l.conn.q[dir], msg)
}

// deliver hands the next message of direction dir of l to its receiver.
func (s *Sim) deliver(l *link, dir int) {
	from, to := l.ends(dir)
	msg := l.conn.q[dir][0]
	l.conn.q[dir] = l.conn.q[dir][1:]
	d, src := s.devs[to], s.devs[from]
	switch m := msg.(type) {
	case *proto.Hello:
		s.logf("%s <- %s hello %+v", d.Name, src.Name, m.Folders[0])
		d.step(engine.PeerUp{Device: src.ID, Hello: m.Folders[0]})
	case *proto.IndexUpdate:
		for _, f := range m.Files {
			if f.Delta != nil {
				s.deltas++
			}
		}
		s.logUpdate(d, src, m)
		d.step(engine.Received{From: src.ID, Update: m})
		if tok := l.conn.tokens[msg]; tok != 0 && l.conn != nil {
			delete(l.conn.tokens, msg)
			src.step(engine.Sent{Device: d.ID, Token: tok})
		}
	default:
		s.logf("%s <- %s %T ignored", d.Name, src.Name, m)
	}
}

func (s *Sim) logUpdate(d, src *Device, m *proto.IndexUpdate) {
	if !s.tracing {
		return
	}
	s.logf("%s <- %s index update (%d files)", d.Name, src.Name, len(m.Files))
	for _, f := range m.Files {
		s.logf("    %v", f)
	}
}

// fetcher returns how device dev gets blocks from its peers: over a live
// connection, counting the bytes moved.
func (s *Sim) fetcher(dev int) Fetcher {
	return func(peer proto.DeviceID, name string, b proto.Block) ([]byte, bool) {
		p := s.index(peer)
		l := s.linkOf(dev, p)
		if p < 0 || l == nil || l.conn == nil || !s.devs[p].Running() {
			return nil, false
		}
		data, ok := s.devs[p].FS.ReadBlock(name, b)
		if ok {
			s.blockBytes += int64(len(data))
		}
		return data, ok
	}
}

// cloneUpdate copies an update as the wire would: nothing is shared with
// the sender, and local-only fields stay behind.
func cloneUpdate(u *proto.IndexUpdate) *proto.IndexUpdate {
	out := &proto.IndexUpdate{Folder: u.Folder, IndexID: u.IndexID, Files: make([]proto.FileInfo, len(u.Files))}
	for i, f := range u.Files {
		f = f.Clone()
		f.Inode = 0
		out.Files[i] = f
	}
	return out
}

// index returns the position of the device with the given ID, -1 if none.
func (s *Sim) index(id proto.DeviceID) int {
	return slices.IndexFunc(s.devs, func(d *Device) bool { return d.ID == id })
}
