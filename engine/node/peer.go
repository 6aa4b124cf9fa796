package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"ferry/proto"
)

const (
	// requestTimeout is how long a block request waits while no response
	// to any request arrives on its connection; maxRequestWait bounds its
	// wait while others are answered, as on a slow link with many requests
	// queued ahead of it.
	requestTimeout = 60 * time.Second
	maxRequestWait = 10 * time.Minute
	pingEvery      = 30 * time.Second
	readTimeout    = 3 * pingEvery
	// writeTimeout is how long a write may wait for the peer to read a
	// chunk of writeChunk bytes: a peer that reads nothing for this long,
	// or less than about 4 KiB/s, is dropped, and nothing waits on it.
	writeTimeout = 60 * time.Second
	writeChunk   = 256 << 10
	// maxQueued bounds the messages waiting to be written to one peer.
	// The engine hands out a device's whole index at once, in updates of
	// 1,000 records, so this is far more than a folder of 10 million
	// files needs; only a peer that reads much slower than the engine
	// writes reaches it, and it is dropped rather than waited for.
	maxQueued = 1 << 16
	// Block requests of one connection are served by serveWorkers at once
	// from a queue of serveQueue; one that finds the queue full is answered
	// with an error at once. A puller keeps 256 requests in flight per
	// folder, so four folders pulling from us at full speed fit. Each
	// worker holds at most one block, so a connection's served blocks take
	// at most serveWorkers blocks of memory.
	serveWorkers = 32
	serveQueue   = 1024
)

// errNotConnected says a device has no connection now.
var errNotConnected = errors.New("device not connected")

// counters are a device's application byte counts, kept across
// connections, and their recent rates.
type counters struct {
	in, out         atomic.Int64
	inRate, outRate meter
}

// peerConn is one live, authenticated connection to a trusted device.
type peerConn struct {
	dev    proto.DeviceID
	dialer proto.DeviceID // the device that dialled this connection
	addr   string
	nc     net.Conn
	stats  *counters
	upAt   time.Time // when it registered
	// via is the device relaying the connection; zero for a direct one.
	via proto.DeviceID
	// chosenEnd says this device closed the connection on purpose (its
	// configuration changed), which says nothing about the peer.
	chosenEnd atomic.Bool

	closed chan struct{}
	once   sync.Once
	reason atomic.Value // string
	// dmu orders the write deadlines of the write loop and of close, so
	// that a closing connection's short deadline is never extended.
	dmu     sync.Mutex
	closing bool

	// queue holds the messages send was given, in order, for the write
	// loop; queued wakes it. responses takes served blocks from the serve
	// workers, which wait on it: they hold the blocks' memory until then.
	qmu       sync.Mutex
	queue     []proto.Message
	queued    chan struct{}
	responses chan *proto.Response
	serveQ    chan *proto.Request // block requests waiting for a worker

	mu     sync.Mutex
	nextID uint32
	reqs   map[uint32]pendingRequest
	// lastResponse is when a block response last arrived (Unix
	// nanoseconds), which tells a slow link from a stuck request.
	lastResponse atomic.Int64
	// hreqs are the history requests waiting for an answer, at most
	// maxHistoryAsks.
	hreqs map[uint32]chan *proto.HistoryResponse
}

// pendingRequest is a block request waiting for its response.
type pendingRequest struct {
	size int32
	done chan requestResult
}

type requestResult struct {
	data []byte
	err  error
}

func newPeerConn(nc net.Conn, dev, dialer proto.DeviceID, stats *counters) *peerConn {
	return &peerConn{
		dev: dev, dialer: dialer, addr: nc.RemoteAddr().String(), nc: nc, stats: stats,
		closed: make(chan struct{}), queued: make(chan struct{}, 1),
		responses: make(chan *proto.Response), serveQ: make(chan *proto.Request, serveQueue),
		reqs: make(map[uint32]pendingRequest), hreqs: make(map[uint32]chan *proto.HistoryResponse),
	}
}

// relayed reports whether the connection goes through a relay.
func (c *peerConn) relayed() bool { return !c.via.IsZero() }

// close ends the connection, telling the peer why when it can.
func (c *peerConn) close(reason string) {
	c.once.Do(func() {
		c.reason.Store(reason)
		c.dmu.Lock()
		c.closing = true
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		c.dmu.Unlock()
		proto.WriteMessage(c.nc, &proto.Close{Reason: reason})
		close(c.closed)
		c.nc.Close()
		c.mu.Lock()
		for id, p := range c.reqs {
			close(p.done)
			delete(c.reqs, id)
		}
		for id, ch := range c.hreqs {
			close(ch)
			delete(c.hreqs, id)
		}
		c.mu.Unlock()
		c.qmu.Lock()
		c.queue = nil
		c.qmu.Unlock()
	})
}

func (c *peerConn) closeReason() string {
	s, _ := c.reason.Load().(string)
	return s
}

// paced is a queued message whose sender is told when it has been written.
type paced struct {
	proto.Message
	done func()
}

// sendThen queues m like send and calls done once m has been written; not
// at all if the connection ends first.
func (c *peerConn) sendThen(m proto.Message, done func()) { c.send(paced{m, done}) }

// send queues m for the write loop and returns at once; m is dropped if
// the connection is closed. A peer with maxQueued messages waiting is not
// reading: its connection is closed instead.
func (c *peerConn) send(m proto.Message) {
	c.qmu.Lock()
	if isClosed(c.closed) {
		c.qmu.Unlock()
		return
	}
	if len(c.queue) >= maxQueued {
		c.qmu.Unlock()
		// close waits up to a second to tell the peer: not here.
		go c.close(fmt.Sprintf("peer not reading: %d messages waiting", maxQueued))
		return
	}
	c.queue = append(c.queue, m)
	c.qmu.Unlock()
	select {
	case c.queued <- struct{}{}:
	default:
	}
}

// dequeue takes the oldest queued message, nil if there is none.
func (c *peerConn) dequeue() proto.Message {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) == 0 {
		return nil
	}
	m := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	return m
}

// next returns a message to write without waiting, nil if none is ready:
// queued messages and served blocks take turns, so neither starves.
func (c *peerConn) next(queueFirst bool) proto.Message {
	if queueFirst {
		if m := c.dequeue(); m != nil {
			return m
		}
	}
	select {
	case r := <-c.responses:
		return r
	default:
	}
	if m := c.dequeue(); m != nil {
		return m
	}
	return nil
}

// writeLoop writes queued messages and served blocks, flushing when none
// is ready, and pings an idle peer. Every write has a deadline: a peer
// that stops reading ends the connection.
func (c *peerConn) writeLoop() {
	w := bufio.NewWriterSize(countWriter{deadlineWriter{c}, &c.stats.out}, 256<<10)
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	turn := false
	for {
		turn = !turn
		m := c.next(turn)
		if m == nil {
			if err := w.Flush(); err != nil {
				c.close(fmt.Sprintf("write: %v", err))
				return
			}
			select {
			case <-c.closed:
				return
			case <-c.queued:
				continue
			case m = <-c.responses:
			case <-ping.C:
				m = &proto.Ping{}
			}
		}
		var done func()
		if p, ok := m.(paced); ok {
			m, done = p.Message, p.done
		}
		err := proto.WriteMessage(w, m)
		if r, ok := m.(*proto.Response); ok {
			proto.PutBuffer(r.Data) // written out: see serveBlock
		}
		if err != nil {
			c.close(fmt.Sprintf("write: %v", err))
			return
		}
		if done != nil {
			done()
		}
	}
}

// deadlineWriter writes to a connection in chunks of writeChunk, each
// with a deadline of writeTimeout: a large record may take long on a slow
// link, as long as the peer keeps reading.
type deadlineWriter struct{ c *peerConn }

func (d deadlineWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), writeChunk)]
		if err := d.c.armWrite(); err != nil {
			return written, err
		}
		n, err := d.c.nc.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// errClosing says a write was not started because the connection closes.
var errClosing = errors.New("connection closing")

// armWrite sets the deadline of the next write, unless the connection is
// closing.
func (c *peerConn) armWrite() error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.closing {
		return errClosing
	}
	return c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
}

// serveWorker serves queued block requests until the connection closes.
func (c *peerConn) serveWorker(serve func(*peerConn, *proto.Request) *proto.Response, log *slog.Logger) {
	for {
		select {
		case <-c.closed:
			return
		case req := <-c.serveQ:
			resp := serve(c, req)
			resp.ID = req.ID
			if resp.Code != proto.CodeOK {
				log.Debug("block request refused", "device", c.dev.Abbrev(), "folder", req.Folder, "name", req.Name,
					"offset", req.Offset, "size", req.Size, "answer", codeText(resp.Code))
			}
			select {
			case c.responses <- resp:
			case <-c.closed:
				proto.PutBuffer(resp.Data)
				return
			}
		}
	}
}

// request sends a block request and waits for its response, whose data is
// exactly req.Size bytes (see deliver).
func (c *peerConn) request(ctx context.Context, req *proto.Request) ([]byte, error) {
	done := make(chan requestResult, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	if c.reqs == nil || isClosed(c.closed) {
		c.mu.Unlock()
		return nil, errNotConnected
	}
	c.reqs[id] = pendingRequest{size: req.Size, done: done}
	c.mu.Unlock()
	r := *req
	r.ID = id
	start := time.Now()
	c.send(&r)
	timer := time.NewTimer(requestTimeout)
	defer timer.Stop()
	fail := func(err error) error {
		c.mu.Lock()
		delete(c.reqs, id)
		c.mu.Unlock()
		return fmt.Errorf("request %s@%d: %w", req.Name, req.Offset, err)
	}
	for {
		select {
		case res, ok := <-done:
			if !ok {
				return nil, fmt.Errorf("connection closed: %s", c.closeReason())
			}
			return res.data, res.err
		case <-ctx.Done():
			return nil, fail(ctx.Err())
		case <-timer.C:
			// Responses to requests queued ahead of this one may still be
			// arriving: the wait goes on while they do.
			now := time.Now()
			idle := now.Sub(start)
			if last := time.Unix(0, c.lastResponse.Load()); last.After(start) {
				idle = now.Sub(last)
			}
			waited := now.Sub(start)
			if idle >= requestTimeout || waited >= maxRequestWait {
				return nil, fail(fmt.Errorf("no answer after %v, %v of them with no response on the connection: %w",
					waited.Round(time.Second), idle.Round(time.Second), context.DeadlineExceeded))
			}
			timer.Reset(min(requestTimeout-idle, maxRequestWait-waited))
		}
	}
}

// maxHistoryAsks bounds the history requests waiting on one connection;
// historyTimeout bounds the wait for each.
const (
	maxHistoryAsks = 16
	historyTimeout = 10 * time.Second
)

// askHistory asks the peer which versions of name in folder it keeps.
func (c *peerConn) askHistory(ctx context.Context, folder, name string) (*proto.HistoryResponse, error) {
	return c.askHistoryReq(ctx, &proto.HistoryRequest{Folder: folder, Name: name})
}

// askHistoryReq sends req, with a new ID, and waits for its answer.
func (c *peerConn) askHistoryReq(ctx context.Context, req *proto.HistoryRequest) (*proto.HistoryResponse, error) {
	done := make(chan *proto.HistoryResponse, 1)
	c.mu.Lock()
	if c.hreqs == nil || isClosed(c.closed) {
		c.mu.Unlock()
		return nil, errNotConnected
	}
	if len(c.hreqs) >= maxHistoryAsks {
		c.mu.Unlock()
		return nil, fmt.Errorf("ask %s for versions: %d questions wait already", c.dev.Abbrev(), maxHistoryAsks)
	}
	c.nextID++
	id := c.nextID
	c.hreqs[id] = done
	c.mu.Unlock()
	r := *req
	r.ID = id
	c.send(&r)
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	select {
	case res, ok := <-done:
		if !ok {
			return nil, fmt.Errorf("connection closed: %s", c.closeReason())
		}
		if res.Code != proto.CodeOK {
			return nil, fmt.Errorf("%s answered %s", c.dev.Abbrev(), codeText(res.Code))
		}
		return res, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.hreqs, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("ask %s for versions: %w", c.dev.Abbrev(), ctx.Err())
	}
}

// maxHistoryPages bounds the pages of one question about a whole folder.
const maxHistoryPages = 10_000

// askFolderAt asks the peer what each file of folder was at at, page by
// page.
func (c *peerConn) askFolderAt(ctx context.Context, folder string, at time.Time) ([]proto.HistoryVersion, error) {
	var out []proto.HistoryVersion
	after := ""
	for range maxHistoryPages {
		res, err := c.askHistoryReq(ctx, &proto.HistoryRequest{Folder: folder, At: at.UnixNano(), After: after})
		if err != nil {
			return nil, err
		}
		for _, v := range res.Versions {
			if v.File.Name <= after {
				return nil, fmt.Errorf("%s listed %s out of order", c.dev.Abbrev(), v.File.Name)
			}
			after = v.File.Name
			out = append(out, v)
		}
		if !res.More || len(res.Versions) == 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: more than %d pages about folder %s", c.dev.Abbrev(), maxHistoryPages, folder)
}

// deliverHistory hands res to the question waiting for it; an answer no
// one waits for is dropped.
func (c *peerConn) deliverHistory(res *proto.HistoryResponse) {
	c.mu.Lock()
	ch, ok := c.hreqs[res.ID]
	delete(c.hreqs, res.ID)
	c.mu.Unlock()
	if ok {
		ch <- res
	}
}

// deliver hands resp to the request waiting for it. Block data of another
// length than the block asked for is refused before anyone looks at it:
// the error ends the connection. A response no one waits for any more is
// dropped.
func (c *peerConn) deliver(resp *proto.Response) error {
	c.lastResponse.Store(time.Now().UnixNano())
	c.mu.Lock()
	p, ok := c.reqs[resp.ID]
	delete(c.reqs, resp.ID)
	c.mu.Unlock()
	if !ok {
		proto.PutBuffer(resp.Data)
		return nil
	}
	if resp.Code != proto.CodeOK {
		p.done <- requestResult{err: fmt.Errorf("peer answered %s", codeText(resp.Code))}
		return nil
	}
	if len(resp.Data) != int(p.size) {
		proto.PutBuffer(resp.Data)
		err := fmt.Errorf("response %d: %d bytes for a block of %d", resp.ID, len(resp.Data), p.size)
		p.done <- requestResult{err: err}
		return err
	}
	p.done <- requestResult{data: resp.Data}
	return nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func codeText(c proto.ErrorCode) string {
	switch c {
	case proto.CodeNoSuchFile:
		return "no such file"
	case proto.CodeInvalid:
		return "invalid request"
	case proto.CodeChanged:
		return "file changed"
	}
	return "error"
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
