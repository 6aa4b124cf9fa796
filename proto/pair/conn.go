package pair

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// DefaultTimeout bounds a pairing whose context has no deadline. It is long
// because it includes the joiner's user choosing folders.
const DefaultTimeout = 5 * time.Minute

// ProofTimeout is how long the offerer waits, from the start of Serve, for
// the joiner's proof of the code (handshake message 3). An honest joiner
// sends it after two round trips; until it arrives the joiner has proved
// nothing, and the offerer gives it no longer than this.
const ProofTimeout = 10 * time.Second

// deadline is ctx's deadline, or DefaultTimeout from now.
func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(DefaultTimeout)
}

// bindContext makes d conn's deadline and ctx's cancellation interrupt any
// read or write on conn. stop releases the cancellation hook.
func bindContext(ctx context.Context, conn net.Conn, d time.Time) (stop func() bool, err error) {
	if err := conn.SetDeadline(d); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) }), nil
}

// extendDeadline moves conn's deadline, set by bindContext, to d. The
// cancellation hook may have fired just before and its past deadline been
// overwritten, so ctx is checked after the move.
func extendDeadline(ctx context.Context, conn net.Conn, d time.Time) error {
	if err := conn.SetDeadline(d); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	return ctx.Err()
}

// isClosed reports whether err says the peer closed the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
