// Package portmap asks the home router to forward the daemon's TCP sync port,
// so that devices on the internet can connect to it.
//
// Two protocols are spoken; Map tries both at once and keeps the first that
// succeeds (a late second success is removed again).
//
// NAT-PMP (RFC 6886) is a small UDP protocol spoken to port 5351 of the
// default gateway, which is read from /proc/net/route on Linux or set in
// Config. A request is sent, and resent after 250 ms, 500 ms, 1 s, ... until
// an answer arrives or the request deadline passes. Opcode 0 asks for the
// external IPv4 address; opcode 2 asks for a TCP mapping of an internal port
// to a suggested external port for a lifetime in seconds, and the answer
// names the external port and lifetime actually granted. A mapping request
// with lifetime 0 deletes the mapping.
//
// UPnP IGD finds the router by SSDP multicast search for an
// InternetGatewayDevice (or takes its description URL from Config), reads
// the device description and talks SOAP to the first WANIPConnection:2,
// WANIPConnection:1 or WANPPPConnection:1 service that accepts
// AddPortMapping. GetExternalIPAddress names the external address and
// DeletePortMapping removes the mapping.
//
// Every network wait has a deadline and every response read from the router
// is size-bounded. Run keeps a mapping alive: it renews at half the granted
// lifetime, reports when the external address changes or the mapping is
// lost, and deletes the mapping when its context ends.
package portmap
