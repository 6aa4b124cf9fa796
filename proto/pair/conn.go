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

// bindContext makes ctx's deadline (or DefaultTimeout from now) conn's
// deadline and ctx's cancellation interrupt any read or write on conn. stop
// releases the cancellation hook.
func bindContext(ctx context.Context, conn net.Conn) (stop func() bool, err error) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(DefaultTimeout)
	}
	if err := conn.SetDeadline(d); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) }), nil
}

// isClosed reports whether err says the peer closed the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
