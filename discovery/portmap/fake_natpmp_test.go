package portmap

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// natpmpRequest is a mapping request seen by fakeNATPMP.
type natpmpRequest struct {
	internal, external uint16
	lifetime           uint32
}

// fakeNATPMP is a NAT-PMP gateway on 127.0.0.1 (RFC 6886 opcodes 0 and 2).
type fakeNATPMP struct {
	conn *net.UDPConn

	mu       sync.Mutex
	external netip.Addr
	portBase uint16 // external port = internal + portBase
	maxLife  uint32 // lifetime granted at most, 0 for any
	result   uint16 // result code of every answer
	silent   bool
	gate     <-chan struct{} // when set, nothing is answered before it closes
	requests []natpmpRequest
}

func newFakeNATPMP(t *testing.T) *fakeNATPMP {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNATPMP{conn: conn, external: netip.MustParseAddr("198.51.100.9")}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return f
}

func (f *fakeNATPMP) addr() netip.AddrPort {
	return f.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (f *fakeNATPMP) set(fn func(*fakeNATPMP)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeNATPMP) seen() []natpmpRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]natpmpRequest(nil), f.requests...)
}

func (f *fakeNATPMP) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		f.mu.Lock()
		gate := f.gate
		f.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if resp := f.answer(buf[:n]); resp != nil {
			f.conn.WriteToUDPAddrPort(resp, from)
		}
	}
}

func (f *fakeNATPMP) answer(req []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.silent || len(req) < 2 || req[0] != 0 {
		return nil
	}
	switch {
	case req[1] == 0:
		resp := make([]byte, 12)
		resp[1] = 128
		binary.BigEndian.PutUint16(resp[2:], f.result)
		ip := f.external.As4()
		copy(resp[8:], ip[:])
		return resp
	case req[1] == 2 && len(req) == 12:
		r := natpmpRequest{
			internal: binary.BigEndian.Uint16(req[4:]),
			external: binary.BigEndian.Uint16(req[6:]),
			lifetime: binary.BigEndian.Uint32(req[8:]),
		}
		f.requests = append(f.requests, r)
		life, ext := r.lifetime, r.internal+f.portBase
		if f.maxLife != 0 && life > f.maxLife {
			life = f.maxLife
		}
		if life == 0 {
			ext = 0
		}
		resp := make([]byte, 16)
		resp[1] = 128 + 2
		binary.BigEndian.PutUint16(resp[2:], f.result)
		binary.BigEndian.PutUint16(resp[8:], r.internal)
		binary.BigEndian.PutUint16(resp[10:], ext)
		binary.BigEndian.PutUint32(resp[12:], life)
		return resp
	}
	return nil
}
