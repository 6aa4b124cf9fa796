package engine

import (
	"fmt"

	"ferry/proto"
)

// onPeerUp starts the index exchange with a device that just connected: its
// records are dropped if its index was recreated, and it is sent every local
// record newer than what its Hello says it has seen, a few batches at a
// time (see feed).
func (e *Engine) onPeerUp(in PeerUp) {
	p := e.peers[in.Device]
	if p == nil {
		return
	}
	p.connected = true
	// A needed file that had no source may have one now.
	e.sync.dirty = true
	if in.Hello.IndexID != p.index.IndexID {
		if p.index.IndexID != 0 {
			e.rd.Writes.DropRemote = append(e.rd.Writes.DropRemote, in.Device)
			e.files.dropRemote(in.Device)
			e.sync.recomputeAll()
		}
		p.index = PeerIndex{IndexID: in.Hello.IndexID}
		e.writePeer(in.Device, p)
	}
	from := in.Hello.SeenSequence
	if in.Hello.SeenIndexID != e.indexID {
		from = 0
	}
	p.files = e.files.countRemote(in.Device)
	clear(p.window)
	if e.cfg.Type == ReceiveOnly {
		p.sentSeq = e.seq
		return
	}
	p.sentSeq, p.catchUp, p.sentAny = from, true, false
	e.feed(in.Device, p)
}

// catchUpWindow is how many batches of a peer's first index exchange may be
// on their way at once: the rest are read from the index as they go out,
// so a large folder is never held whole in memory or in a connection's
// queue.
const catchUpWindow = 4

// feed sends a peer that is catching up the next batches of local records
// by sequence, until catchUpWindow are on their way. Once the last has
// gone, the peer gets each change as it is made (announce).
func (e *Engine) feed(dev proto.DeviceID, p *peer) {
	for p.catchUp && len(p.window) < catchUpWindow && e.files.err == nil {
		page, next, more := e.files.localPage(p.sentSeq, e.cfg.BatchFiles)
		if len(page) > 0 {
			p.sentAny = true
			e.rd.Messages = append(e.rd.Messages, Outgoing{To: dev, Token: e.windowToken(dev), Msg: &proto.IndexUpdate{
				Folder: e.cfg.Folder, IndexID: e.indexID, Files: page,
			}})
		}
		p.sentSeq = next
		if !more {
			p.catchUp = false
			p.sentSeq = e.seq
			if !p.sentAny {
				// An empty update tells the peer our index is complete.
				e.rd.Messages = append(e.rd.Messages, Outgoing{To: dev, Msg: &proto.IndexUpdate{
					Folder: e.cfg.Folder, IndexID: e.indexID,
				}})
			}
		}
	}
}

// onSent frees the place of a batch that went out in its peer's window.
func (e *Engine) onSent(in Sent) {
	p := e.peers[in.Device]
	if p == nil || !p.window[in.Token] {
		return
	}
	delete(p.window, in.Token)
	e.feed(in.Device, p)
}

// onPeerDown forgets the connection, and the messages still queued for it:
// sent on a later connection they would come before the resend that
// connection starts with, out of sequence order, and make the peer believe
// it saw records it never got.
func (e *Engine) onPeerDown(in PeerDown) {
	p := e.peers[in.Device]
	if p == nil {
		return
	}
	p.connected = false
	p.sentSeq, p.catchUp = 0, false
	clear(p.window)
	var keep []Outgoing
	for _, m := range e.rd.Messages {
		if m.To != in.Device {
			keep = append(keep, m)
		}
	}
	e.rd.Messages = keep
}

// onReceived stores a peer's records and recomputes what is needed. A
// peer that announces more than MaxRemoteFiles names is refused: the
// records from the first name past the bound on are not taken, and the
// connection is closed, so they come again on the next one.
func (e *Engine) onReceived(in Received) {
	p := e.peers[in.From]
	if p == nil || !p.connected || in.Update.IndexID != p.index.IndexID {
		return
	}
	for _, f := range in.Update.Files {
		f.Inode = 0
		added := e.files.remote(in.From, f.Name) == nil
		if added && p.files >= e.cfg.MaxRemoteFiles {
			e.rd.Messages = append(e.rd.Messages, Outgoing{To: in.From, Msg: &proto.Close{
				Reason: fmt.Sprintf("index update of folder %s refused: the device announces more than %d files", e.cfg.Folder, e.cfg.MaxRemoteFiles),
			}})
			break
		}
		if f.Delta != nil {
			if err := f.ApplyDelta(e.files.remote(in.From, f.Name)); err != nil {
				// Records from here on are not taken: the peer sends them
				// again, whole, on the next connection.
				e.rd.Messages = append(e.rd.Messages, Outgoing{To: in.From, Msg: &proto.Close{Reason: "index update: " + err.Error()}})
				break
			}
		}
		e.files.setRemote(in.From, f)
		if added {
			p.files++
		}
		e.rd.Writes.Remote = append(e.rd.Writes.Remote, RemoteFile{Device: in.From, File: f})
		p.index.Sequence = max(p.index.Sequence, f.Sequence)
		e.sync.recompute(f.Name)
	}
	e.writePeer(in.From, p)
}

func (e *Engine) writePeer(dev proto.DeviceID, p *peer) {
	if e.rd.Writes.Peers == nil {
		e.rd.Writes.Peers = make(map[proto.DeviceID]PeerIndex)
	}
	e.rd.Writes.Peers[dev] = p.index
}
