package dht

import (
	"net"
	"sync/atomic"
)

// filterConn drops datagrams that cannot be KRPC messages (every KRPC
// message is a bencoded dictionary, so it starts with 'd') before the DHT
// library decodes them, and counts them.
type filterConn struct {
	net.PacketConn
	dropped *atomic.Int64
}

func (c filterConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || (n > 1 && b[0] == 'd' && b[n-1] == 'e') {
			return n, addr, err
		}
		c.dropped.Add(1)
	}
}
