// Package lan finds devices on the local network by announcement.
//
// Every daemon sends a small UDP datagram, an announcement, at start, every
// Config.Interval (30 s by default), when its pairing offers change, and
// soon (at most once a second) after it hears a device it did not know, so
// that a newcomer learns about it without waiting a whole interval.
// Announcements go to UDP port Config.Port (21025 by default):
//
//   - over IPv4 to the directed broadcast address of every subnet of every
//     up, broadcast-capable, non-loopback interface (10.1.2.255 for
//     10.1.2.0/24). The limited broadcast 255.255.255.255 is not used: it
//     fails with "network unreachable" on a host without a default route.
//   - over IPv6 to the multicast group ff12::6665:7279 (GroupIPv6;
//     transient, link-local scope) on every up, multicast-capable,
//     non-loopback interface that has an IPv6 address. The listener joins
//     the group on each such interface.
//
// Interfaces are listed afresh at every announcement, so ones that appear
// later are used from the next one on. A failure to send on an interface
// is logged (at debug level) when it starts, changes or ends, not at every
// announcement.
//
// # Packet format
//
// All integers are big-endian; an announcement is at most 119 bytes:
//
//	offset  size  field
//	0       4     magic "fery" (0x66 0x65 0x72 0x79)
//	4       1     version, 1
//	5       32    device ID of the sender, not zero
//	37      1     n, number of ports, 0..8
//	38      2n    TCP listen ports, each non-zero
//	38+2n   1     m, number of pairing offers, 0..16
//	39+2n   4m    offer numbers
//
// The length must match the counts exactly. A datagram longer than
// MaxPacketSize (1024 bytes), with another magic or version, with too many
// ports or offers, a zero device ID, a zero port or any trailing or missing
// byte is dropped and counted in Stats.Dropped. A later version changes the
// version byte; this one drops it.
//
// # What a receiver learns
//
// An announcement carries no address: the receiver combines the packet's
// source IP (with its interface as zone for an IPv6 link-local address)
// with each announced port, giving addresses such as "10.1.2.3:22000" or
// "[fe80::1%eth0]:22000". Addresses stay fresh for Config.Expiry (three
// intervals by default); our own announcements, which broadcast and
// multicast loop back to us, are ignored by device ID. Hearing a device
// proves nothing about it: trust comes only from the Noise key check when
// it is dialled. Offers are the numbers of open pairing offers, never the
// code's words or any key, so announcing them gives nothing away.
//
// LAN implements discovery.Resolver with Lookup. Devices and Changed let a
// daemon dial a trusted device as soon as it is heard; FindOffer lets a
// device that was given a pairing code find the device offering it.
//
// # Several daemons on one host
//
// The listening sockets set SO_REUSEADDR and, on Unix, SO_REUSEPORT, and
// the kernel hands every broadcast and multicast datagram to all sockets
// bound to the port, so two daemons of the same user on one host both
// listen and hear each other, as long as the host has an up non-loopback
// interface to announce on (announcements loop back to local listeners).
// Loopback itself is never announced on.
package lan
