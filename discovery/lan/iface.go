package lan

import (
	"fmt"
	"net"
	"net/netip"
)

// GroupIPv6 is the multicast group IPv6 announcements go to: ff12::/16 is
// transient with link-local scope, so the packets never leave the link, and
// 6665:7279 spells "fery".
const GroupIPv6 = "ff12::6665:7279"

// iface is the part of a network interface announcing needs.
type iface struct {
	name     string
	index    int
	flags    net.Flags
	prefixes []netip.Prefix
}

// target is one place an announcement is sent to.
type target struct {
	iface string
	index int
	dst   netip.AddrPort
}

// interfaces lists the host's interfaces with their addresses. An
// interface whose addresses cannot be read is listed without any.
func interfaces() ([]iface, error) {
	nifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]iface, 0, len(nifs))
	for _, n := range nifs {
		ifc := iface{name: n.Name, index: n.Index, flags: n.Flags}
		addrs, _ := n.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			ones, _ := ipn.Mask.Size()
			if ok {
				ifc.prefixes = append(ifc.prefixes, netip.PrefixFrom(ip.Unmap(), ones))
			}
		}
		out = append(out, ifc)
	}
	return out, nil
}

// usable reports whether ifc is up, not loopback and has flag.
func (ifc iface) usable(flag net.Flags) bool {
	return ifc.flags&net.FlagUp != 0 && ifc.flags&net.FlagLoopback == 0 && ifc.flags&flag != 0
}

// broadcastTargets returns the directed broadcast address of every IPv4
// subnet on every usable interface. The limited broadcast 255.255.255.255
// is never used: it fails on hosts without a default route.
func broadcastTargets(ifs []iface, port uint16) []target {
	var out []target
	for _, ifc := range ifs {
		if !ifc.usable(net.FlagBroadcast) {
			continue
		}
		for _, p := range ifc.prefixes {
			if b, ok := directedBroadcast(p); ok {
				out = append(out, target{iface: ifc.name, index: ifc.index, dst: netip.AddrPortFrom(b, port)})
			}
		}
	}
	return out
}

// directedBroadcast returns the broadcast address of an IPv4 subnet;
// /31 and /32 have none.
func directedBroadcast(p netip.Prefix) (netip.Addr, bool) {
	if !p.Addr().Is4() || p.Bits() > 30 || p.Bits() < 0 {
		return netip.Addr{}, false
	}
	a := p.Addr().As4()
	host := ^uint32(0) >> p.Bits()
	for i := range a {
		a[i] |= byte(host >> (8 * (3 - i)))
	}
	return netip.AddrFrom4(a), true
}

// multicastTargets returns the group, scoped to each usable interface that
// has an IPv6 address to send from.
func multicastTargets(ifs []iface, port uint16) []target {
	group := netip.MustParseAddr(GroupIPv6)
	var out []target
	for _, ifc := range ifs {
		if !ifc.usable(net.FlagMulticast) || !hasIPv6(ifc) {
			continue
		}
		dst := netip.AddrPortFrom(group.WithZone(ifc.name), port)
		out = append(out, target{iface: ifc.name, index: ifc.index, dst: dst})
	}
	return out
}

func hasIPv6(ifc iface) bool {
	for _, p := range ifc.prefixes {
		if p.Addr().Is6() {
			return true
		}
	}
	return false
}
