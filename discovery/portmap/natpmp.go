package portmap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

const (
	natpmpPort      = 5351
	natpmpOpAddress = 0
	natpmpOpTCP     = 2
	natpmpMaxPacket = 1100 // RFC 6886 §3.1
	natpmpFirstWait = 250 * time.Millisecond
)

var natpmpResults = [...]string{
	1: "unsupported version",
	2: "not authorized or refused",
	3: "network failure",
	4: "out of resources",
	5: "unsupported opcode",
}

// natpmp is a NAT-PMP client of one gateway.
type natpmp struct {
	gw      netip.AddrPort
	timeout time.Duration
	now     func() time.Time
}

func (c *natpmp) add(ctx context.Context, internal, external uint16, lifetime time.Duration) (Mapping, error) {
	ip, err := c.externalAddr(ctx)
	if err != nil {
		return Mapping{}, err
	}
	resp, err := c.call(ctx, mapRequest(internal, external, lifetime), 16)
	if err != nil {
		// The router may have made the mapping and the answer been lost,
		// or ctx ended (another protocol won) while it was on its way.
		c.undo(ctx, internal)
		return Mapping{}, fmt.Errorf("nat-pmp %s: map port %d: %w", c.gw, internal, err)
	}
	if got := binary.BigEndian.Uint16(resp[8:]); got != internal {
		c.undo(ctx, internal)
		return Mapping{}, fmt.Errorf("nat-pmp %s: mapped internal port %d, asked %d", c.gw, got, internal)
	}
	granted := time.Duration(binary.BigEndian.Uint32(resp[12:])) * time.Second
	return Mapping{
		Protocol: "nat-pmp",
		External: netip.AddrPortFrom(ip, binary.BigEndian.Uint16(resp[10:])),
		Lifetime: granted,
		Expires:  c.now().Add(granted),
		internal: internal,
		router:   c,
	}, nil
}

func (c *natpmp) remove(ctx context.Context, m Mapping) error {
	if _, err := c.call(ctx, mapRequest(m.internal, 0, 0), 16); err != nil {
		return fmt.Errorf("nat-pmp %s: delete mapping of port %d: %w", c.gw, m.internal, err)
	}
	return nil
}

// undo deletes a mapping add may have made, even after ctx has ended.
func (c *natpmp) undo(ctx context.Context, internal uint16) {
	c.call(context.WithoutCancel(ctx), mapRequest(internal, 0, 0), 16)
}

func (c *natpmp) externalAddr(ctx context.Context) (netip.Addr, error) {
	resp, err := c.call(ctx, []byte{0, natpmpOpAddress}, 12)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("nat-pmp %s: external address: %w", c.gw, err)
	}
	return netip.AddrFrom4([4]byte(resp[8:12])), nil
}

func mapRequest(internal, external uint16, lifetime time.Duration) []byte {
	b := make([]byte, 12)
	b[1] = natpmpOpTCP
	binary.BigEndian.PutUint16(b[4:], internal)
	binary.BigEndian.PutUint16(b[6:], external)
	binary.BigEndian.PutUint32(b[8:], uint32(lifetime/time.Second))
	return b
}

// call sends req until an answer of at least size bytes to its opcode
// arrives, doubling the wait between sends, within c.timeout.
func (c *natpmp) call(ctx context.Context, req []byte, size int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", c.gw.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	deadline, _ := ctx.Deadline()
	buf := make([]byte, natpmpMaxPacket)
	for wait := natpmpFirstWait; ctx.Err() == nil; wait *= 2 {
		if _, err := conn.Write(req); err != nil {
			return nil, callError(ctx, c.timeout, err)
		}
		until := time.Now().Add(wait)
		if deadline.Before(until) {
			until = deadline
		}
		conn.SetReadDeadline(until)
		resp, err := readAnswer(conn, buf, req[1], size)
		if err == nil {
			return resp, nil
		}
		if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
			return nil, callError(ctx, c.timeout, err)
		}
	}
	return nil, callError(ctx, c.timeout, ctx.Err())
}

// callError prefers the end of ctx to err, which that end may have caused.
func callError(ctx context.Context, timeout time.Duration, err error) error {
	switch ctx.Err() {
	case nil:
		return err
	case context.DeadlineExceeded:
		return fmt.Errorf("no answer within %s", timeout)
	default:
		return ctx.Err()
	}
}

// readAnswer reads until a well-formed answer to op arrives.
func readAnswer(conn net.Conn, buf []byte, op byte, size int) ([]byte, error) {
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if n < 4 || buf[0] != 0 || buf[1] != op+128 {
			continue
		}
		if code := binary.BigEndian.Uint16(buf[2:]); code != 0 {
			return nil, natpmpError(code)
		}
		if n >= size {
			return buf[:n], nil
		}
	}
}

func natpmpError(code uint16) error {
	if int(code) < len(natpmpResults) {
		return fmt.Errorf("gateway answered result %d (%s)", code, natpmpResults[code])
	}
	return fmt.Errorf("gateway answered result %d", code)
}
