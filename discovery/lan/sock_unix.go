//go:build unix

package lan

import (
	"errors"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// reuse lets several listeners share the announcement port, so that more
// than one daemon on a host hears broadcasts and multicasts (the kernel
// hands such datagrams to every socket bound to the port).
func reuse(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	return errors.Join(err, serr)
}

// joinGroup makes conn hear group on the interface with index.
func joinGroup(conn *net.UDPConn, group netip.Addr, index int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	mreq := &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(index)}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptIPv6Mreq(int(fd), unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mreq)
	})
	if errors.Is(serr, unix.EADDRINUSE) {
		serr = nil // already a member
	}
	return errors.Join(err, serr)
}
