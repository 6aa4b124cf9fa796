package node

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"ferry/engine"
	"ferry/proto"
)

// runnerFor returns the runner of folder id if it is shared with dev.
func (n *Node) runnerFor(id string, dev proto.DeviceID) *folderRunner {
	r, _ := n.sharedRunner(id, dev)
	return r
}

// sharedWith returns the runners of the folders shared with dev.
func (n *Node) sharedWith(dev proto.DeviceID) []*folderRunner {
	n.mu.RLock()
	defer n.mu.RUnlock()
	var out []*folderRunner
	for _, h := range n.folders {
		if h.shared[dev] && h.runner != nil {
			out = append(out, h.runner)
		}
	}
	return out
}

func (n *Node) trusted(dev proto.DeviceID) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	_, ok := n.cfg.Device(dev)
	return ok
}

func (n *Node) paused(dev proto.DeviceID) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	d, ok := n.cfg.Device(dev)
	return ok && d.Paused
}

func (n *Node) hello(dev proto.DeviceID) *proto.Hello {
	n.mu.RLock()
	name := n.cfg.Name
	n.mu.RUnlock()
	h := &proto.Hello{DeviceName: name, ClientVersion: Version}
	for _, r := range n.sharedWith(dev) {
		if fh, ok := r.hello(dev); ok {
			h.Folders = append(h.Folders, fh)
		}
	}
	return h
}

func (n *Node) up(c *peerConn, h *proto.Hello) {
	var offered []string
	for _, fh := range h.Folders {
		r, shared := n.sharedRunner(fh.ID, c.dev)
		switch {
		case r != nil:
			r.in.put(engine.PeerUp{Device: c.dev, Hello: fh})
		case !shared:
			offered = append(offered, fh.ID)
		}
	}
	if n.offered.set(c.dev, offered, n.opts.Now()) {
		n.log.Info("device shares folders this one does not take; accept them with `ferry folder accept`", "device", c.dev.Abbrev(), "folders", offered)
	}
}

// sharedRunner returns the runner of folder id and whether the folder is
// shared with dev; a shared folder has no runner while it is paused or
// stopped.
func (n *Node) sharedRunner(id string, dev proto.DeviceID) (*folderRunner, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	h := n.folders[id]
	if h == nil || !h.shared[dev] {
		return nil, false
	}
	return h.runner, true
}

func (n *Node) down(c *peerConn) {
	n.relaysDown(c)
	for _, r := range n.sharedWith(c.dev) {
		r.in.put(engine.PeerDown{Device: c.dev})
	}
}

// index hands an index update to its folder's engine, waiting while the
// folder has many inputs or commits waiting (see maxHeldInputs); the
// error, when the folder takes nothing for readTimeout, ends the
// connection.
func (n *Node) index(c *peerConn, u *proto.IndexUpdate) error {
	r := n.runnerFor(u.Folder, c.dev)
	if r == nil {
		n.logger().Debug("index update for a folder not shared with the device; dropped", "device", c.dev.Abbrev(), "folder", u.Folder)
		return nil
	}
	deadline := time.Now().Add(readTimeout)
	var err error
	if r.persist != nil {
		err = r.persist.queue.waitShorter(maxPendingCommits, c.closed, deadline)
	}
	if err == nil {
		err = r.in.putWait(c.dev, engine.Received{From: c.dev, Update: u}, updateWeight(u), c.closed, deadline)
	}
	if err != nil {
		return fmt.Errorf("folder %s is not taking index updates: %w", u.Folder, err)
	}
	return nil
}

// updateWeight is what an index update counts against maxHeldInputs: its
// records and their blocks, which make up its memory.
func updateWeight(u *proto.IndexUpdate) int {
	w := len(u.Files)
	for i := range u.Files {
		w += len(u.Files[i].Blocks)
	}
	return w
}

// logger is the node's logger, or a discarding one for a node built
// without.
func (n *Node) logger() *slog.Logger {
	if n.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return n.log
}

// serveBlock answers a block request from a device the folder is shared with.
// Only a block that the local record of the file lists is served, with its
// hash, at its offset and of its size, so a request costs no more than a
// block we announced; a file that changed since it was announced may still
// yield data that no longer has the hash, which the requester's own check
// rejects.
func (n *Node) serveBlock(c *peerConn, req *proto.Request) *proto.Response {
	n.mu.RLock()
	h := n.folders[req.Folder]
	var r *folderRunner
	if h != nil && h.shared[c.dev] {
		r = h.runner
	}
	n.mu.RUnlock()
	if r == nil || req.Size <= 0 || req.Size > proto.MaxBlockSize || req.Offset < 0 || proto.ValidName(req.Name) != nil {
		return &proto.Response{Code: proto.CodeInvalid}
	}
	if req.History {
		return n.serveKeptBlock(req)
	}
	has, err := r.idx.HasBlockAt(req.Name, proto.Block{Offset: req.Offset, Size: req.Size, Hash: req.Hash})
	if err != nil {
		return &proto.Response{Code: proto.CodeGeneric}
	}
	if !has {
		return &proto.Response{Code: proto.CodeChanged}
	}
	// The write loop gives buf back once the response is written.
	buf := proto.GetBuffer(int(req.Size))
	if err := r.served.readAt(req.Name, buf, req.Offset); err != nil {
		proto.PutBuffer(buf)
		if errors.Is(err, fs.ErrNotExist) {
			return &proto.Response{Code: proto.CodeNoSuchFile}
		}
		return &proto.Response{Code: proto.CodeGeneric}
	}
	return &proto.Response{Code: proto.CodeOK, Data: buf}
}

// serveKeptBlock answers a request for a block of the kept versions, by
// hash, from the block store: a peer restoring a version this device kept.
// The folder is shared with the peer (serveBlock checked); a block is only
// found by its hash, which the peer learnt from a version of that folder.
func (n *Node) serveKeptBlock(req *proto.Request) *proto.Response {
	if n.keeper == nil {
		return &proto.Response{Code: proto.CodeNoSuchFile}
	}
	buf := proto.GetBuffer(int(req.Size))
	data, err := n.keeper.store.Get(req.Hash, buf[:0])
	if err != nil || len(data) != int(req.Size) {
		proto.PutBuffer(buf)
		return &proto.Response{Code: proto.CodeNoSuchFile}
	}
	return &proto.Response{Code: proto.CodeOK, Data: data}
}

// history answers which versions of a file of a folder shared with the
// peer this device keeps, newest first.
func (n *Node) history(c *peerConn, req *proto.HistoryRequest) *proto.HistoryResponse {
	n.mu.RLock()
	h := n.folders[req.Folder]
	shared := h != nil && h.shared[c.dev]
	n.mu.RUnlock()
	if !shared || n.keeper == nil {
		return &proto.HistoryResponse{Code: proto.CodeInvalid}
	}
	if req.Name == "" {
		return n.folderHistory(c, h.runner, req)
	}
	vs, err := n.keeper.hist.Versions(req.Folder, req.Name)
	if err != nil {
		return &proto.HistoryResponse{Code: proto.CodeGeneric}
	}
	res := &proto.HistoryResponse{}
	for _, v := range slices.Backward(vs) {
		if len(res.Versions) == proto.MaxHistoryVersions {
			break
		}
		f := v.File
		f.Inode, f.Sequence = 0, 0
		res.Versions = append(res.Versions, proto.HistoryVersion{ID: v.ID, File: f, Until: v.Until.UnixNano(), Kind: uint8(v.Kind), By: v.By})
	}
	return res
}

// pageBlocks bounds the blocks of the files one answer about a whole folder
// lists, which keeps it well under proto.MaxHistoryResponseSize.
const pageBlocks = 200_000

// folderHistory answers what each file of the folder was at req.At, by
// name after req.After, a page at a time.
func (n *Node) folderHistory(c *peerConn, r *folderRunner, req *proto.HistoryRequest) *proto.HistoryResponse {
	if r == nil {
		return &proto.HistoryResponse{Code: proto.CodeInvalid}
	}
	names, files, err := n.pastPages.get(c.dev, req, func() (map[string]pastFile, error) { return n.folderAt(r, time.Unix(0, req.At)) })
	if err != nil {
		return &proto.HistoryResponse{Code: proto.CodeGeneric}
	}
	res := &proto.HistoryResponse{}
	blocks := 0
	start, _ := slices.BinarySearch(names, req.After)
	for _, name := range names[start:] {
		if name <= req.After {
			continue
		}
		p := files[name]
		if len(res.Versions) == proto.MaxHistoryVersions || len(res.Versions) > 0 && blocks+len(p.file.Blocks) > pageBlocks {
			res.More = true
			break
		}
		f := p.file
		f.Inode, f.Sequence = 0, 0
		res.Versions = append(res.Versions, proto.HistoryVersion{ID: p.id, File: f, Until: p.until.UnixNano(), Kind: uint8(p.kind), By: p.by})
		blocks += len(f.Blocks)
	}
	return res
}

// pastPages keeps the answers to the last questions about a folder at a
// moment, so that the later pages of one do not compute the folder's past
// again: at most pastPagesKept, each for pastPagesFor.
type pastPages struct {
	mu      sync.Mutex
	entries []pastPage
}

const (
	pastPagesKept = 4
	pastPagesFor  = 2 * time.Minute
)

type pastPage struct {
	dev     proto.DeviceID
	folder  string
	at      int64
	names   []string // sorted
	files   map[string]pastFile
	expires time.Time
}

// get returns the folder's past files for req, by name, computing them
// with compute for a first page or when they are no longer kept.
func (p *pastPages) get(dev proto.DeviceID, req *proto.HistoryRequest, compute func() (map[string]pastFile, error)) ([]string, map[string]pastFile, error) {
	now := time.Now()
	p.mu.Lock()
	p.entries = slices.DeleteFunc(p.entries, func(e pastPage) bool { return now.After(e.expires) })
	if req.After != "" {
		for _, e := range p.entries {
			if e.dev == dev && e.folder == req.Folder && e.at == req.At {
				p.mu.Unlock()
				return e.names, e.files, nil
			}
		}
	}
	p.mu.Unlock()
	files, err := compute()
	if err != nil {
		return nil, nil, err
	}
	names := slices.Sorted(maps.Keys(files))
	p.mu.Lock()
	p.entries = slices.DeleteFunc(p.entries, func(e pastPage) bool { return e.dev == dev && e.folder == req.Folder && e.at == req.At })
	if len(p.entries) >= pastPagesKept {
		p.entries = p.entries[1:]
	}
	p.entries = append(p.entries, pastPage{dev: dev, folder: req.Folder, at: req.At, names: names, files: files, expires: now.Add(pastPagesFor)})
	p.mu.Unlock()
	return names, files, nil
}
