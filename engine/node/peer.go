package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"ferry/proto"
)

const (
	requestTimeout = 60 * time.Second
	pingEvery      = 30 * time.Second
	readTimeout    = 3 * pingEvery
	servePerConn   = 32 // block requests served at once per connection
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

	out    chan proto.Message
	closed chan struct{}
	once   sync.Once
	reason atomic.Value // string

	mu     sync.Mutex
	nextID uint32
	reqs   map[uint32]chan *proto.Response
	serve  chan struct{} // semaphore for served requests
}

func newPeerConn(nc net.Conn, dev, dialer proto.DeviceID, stats *counters) *peerConn {
	return &peerConn{
		dev: dev, dialer: dialer, addr: nc.RemoteAddr().String(), nc: nc, stats: stats,
		out: make(chan proto.Message, 256), closed: make(chan struct{}),
		reqs: make(map[uint32]chan *proto.Response), serve: make(chan struct{}, servePerConn),
	}
}

// close ends the connection, telling the peer why when it can.
func (c *peerConn) close(reason string) {
	c.once.Do(func() {
		c.reason.Store(reason)
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		proto.WriteMessage(c.nc, &proto.Close{Reason: reason})
		close(c.closed)
		c.nc.Close()
		c.mu.Lock()
		for id, ch := range c.reqs {
			close(ch)
			delete(c.reqs, id)
		}
		c.mu.Unlock()
	})
}

func (c *peerConn) closeReason() string {
	s, _ := c.reason.Load().(string)
	return s
}

// send queues m; it is dropped if the connection is closed.
func (c *peerConn) send(m proto.Message) {
	select {
	case c.out <- m:
	case <-c.closed:
	}
}

// writeLoop writes queued messages, flushing when the queue is empty, and
// pings an idle peer.
func (c *peerConn) writeLoop() {
	w := bufio.NewWriterSize(countWriter{c.nc, &c.stats.out}, 256<<10)
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		var m proto.Message
		select {
		case <-c.closed:
			return
		case m = <-c.out:
		case <-ping.C:
			m = &proto.Ping{}
		}
		err := proto.WriteMessage(w, m)
		if r, ok := m.(*proto.Response); ok {
			proto.PutBuffer(r.Data) // written out: see serveBlock
		}
		if err != nil {
			c.close(fmt.Sprintf("write: %v", err))
			return
		}
		if len(c.out) == 0 {
			if err := w.Flush(); err != nil {
				c.close(fmt.Sprintf("write: %v", err))
				return
			}
		}
	}
}

// request sends a block request and waits for its response.
func (c *peerConn) request(ctx context.Context, req *proto.Request) ([]byte, error) {
	ch := make(chan *proto.Response, 1)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	if c.reqs == nil || isClosed(c.closed) {
		c.mu.Unlock()
		return nil, errNotConnected
	}
	c.reqs[id] = ch
	c.mu.Unlock()
	r := *req
	r.ID = id
	c.send(&r)
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("connection closed: %s", c.closeReason())
		}
		if resp.Code != proto.CodeOK {
			return nil, fmt.Errorf("peer answered %s", codeText(resp.Code))
		}
		return resp.Data, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.reqs, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("request %s@%d: %w", req.Name, req.Offset, ctx.Err())
	}
}

func (c *peerConn) deliver(resp *proto.Response) {
	c.mu.Lock()
	ch := c.reqs[resp.ID]
	delete(c.reqs, resp.ID)
	c.mu.Unlock()
	if ch != nil {
		ch <- resp
	}
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
