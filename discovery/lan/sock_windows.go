//go:build windows

package lan

import (
	"errors"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/windows"
)

// reuse lets several listeners share the announcement port.
func reuse(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_REUSEADDR, 1)
	})
	return errors.Join(err, serr)
}

// joinGroup makes conn hear group on the interface with index.
func joinGroup(conn *net.UDPConn, group netip.Addr, index int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	mreq := &windows.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(index)}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = windows.SetsockoptIPv6Mreq(windows.Handle(fd), windows.IPPROTO_IPV6, windows.IPV6_JOIN_GROUP, mreq)
	})
	return errors.Join(err, serr)
}
