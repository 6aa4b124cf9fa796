package portmap

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

const rtfGateway = 0x2

// defaultGateway returns the gateway of the default IPv4 route. Only Linux
// is supported; elsewhere set Config.NATPMPGateway.
func defaultGateway() (netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("default gateway unknown (set the NAT-PMP gateway): %w", err)
	}
	defer f.Close()
	return parseRoutes(io.LimitReader(f, 1<<20))
}

// parseRoutes finds the default route's gateway in the /proc/net/route
// format: a header line, then tab-separated fields with addresses in
// little-endian hexadecimal.
func parseRoutes(r io.Reader) (netip.Addr, error) {
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[1] != "00000000" {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&rtfGateway == 0 {
			continue
		}
		b, err := hex.DecodeString(f[2])
		if err != nil || len(b) != 4 {
			continue
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
		return netip.AddrFrom4(a), nil
	}
	if err := sc.Err(); err != nil {
		return netip.Addr{}, fmt.Errorf("read routes: %w", err)
	}
	return netip.Addr{}, errors.New("no default route")
}
