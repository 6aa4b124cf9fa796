// Package discovery finds the network addresses of devices.
//
// A Resolver answers "where can device X be reached?". The static resolver
// here returns the addresses configured for a device; LAN announcements and
// global discovery add more sources behind the same interface.
package discovery
