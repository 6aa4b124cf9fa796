package noise

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/flynn/noise"

	"ferry/proto"
)

// ErrDecrypt says a transport message failed authentication: it was altered,
// replayed, reordered, cut short or is not from the peer at all.
var ErrDecrypt = errors.New("message authentication failed")

const (
	lenSize       = 2                       // length prefix of a message
	tagSize       = 16                      // AES-GCM tag
	maxCiphertext = noise.MaxMsgLen         // 65,535
	maxPlaintext  = maxCiphertext - tagSize // 65,519
	maxFrame      = lenSize + maxCiphertext // a length and a ciphertext
	writeFrames   = 4                       // messages per write to the network
	readBufSize   = 2 * maxFrame            // room for a message and the next one's start
	gcmNonceSize  = 12                      // 4 zero bytes and a 64-bit counter
	nonceLimit    = noise.MaxNonce          // 2^64-2; the last value is reserved
)

// A ciphertext length always fits the 2-byte prefix (this fails to compile
// otherwise).
const _ = uint16(maxCiphertext)

// Conn is a connection secured by a completed Noise handshake. It is a
// net.Conn: Write encrypts, Read decrypts.
//
// Write may be called from several goroutines at once; the bytes of each
// call stay together in the stream, so a caller writing one whole record per
// call never sees records interleave. Read must be called from one goroutine
// at a time (concurrent calls are serialized, but would split the stream
// between them arbitrarily). Close may be called at any time and unblocks
// both. A Conn keeps about 400 KiB of buffers so that neither direction
// allocates per message.
type Conn struct {
	conn   net.Conn
	local  proto.DeviceID
	remote proto.DeviceID
	rx     receiver
	tx     sender
}

var _ net.Conn = (*Conn)(nil)

// receiver is the reading half of a Conn.
type receiver struct {
	mu    sync.Mutex
	cs    cipherState
	buf   []byte // bytes read from the network: buf[r:w] are not yet used
	r, w  int
	plain []byte // decrypted bytes not yet returned, inside buf
	err   error  // sticky: once set, every Read returns it
}

// sender is the writing half of a Conn.
type sender struct {
	mu  sync.Mutex
	cs  cipherState
	buf []byte // encrypted messages waiting for one network write
	err error  // sticky: once set, every Write returns it
}

func newConn(conn net.Conn, key Keypair, peer []byte, send, recv *noise.CipherState) (*Conn, error) {
	if len(peer) != len(proto.DeviceID{}) {
		return nil, fmt.Errorf("peer static key of %d bytes", len(peer))
	}
	c := &Conn{conn: conn, local: key.ID(), remote: proto.DeviceID(peer)}
	if err := c.tx.cs.init(send); err != nil {
		return nil, err
	}
	if err := c.rx.cs.init(recv); err != nil {
		return nil, err
	}
	c.rx.buf = make([]byte, readBufSize)
	c.tx.buf = make([]byte, 0, writeFrames*maxFrame)
	return c, nil
}

// RemoteStatic returns the peer's static public key: its device ID.
func (c *Conn) RemoteStatic() proto.DeviceID { return c.remote }

// LocalStatic returns this side's static public key: its device ID.
func (c *Conn) LocalStatic() proto.DeviceID { return c.local }

// Write encrypts p and sends it as one or more transport messages. After an
// error, including a deadline, the stream is out of step and every later
// Write fails.
func (c *Conn) Write(p []byte) (int, error) {
	c.tx.mu.Lock()
	defer c.tx.mu.Unlock()
	if c.tx.err != nil {
		return 0, c.tx.err
	}
	written := 0
	for len(p) > 0 {
		buf, rest, err := c.tx.sealBatch(p)
		if err == nil {
			_, err = c.conn.Write(buf)
		}
		if err != nil {
			c.tx.err = fmt.Errorf("noise write: %w", err)
			return written, c.tx.err
		}
		written += len(p) - len(rest)
		p = rest
	}
	return written, nil
}

// sealBatch encrypts as many messages of p as fit in the write buffer and
// returns the buffer and what remains of p.
func (s *sender) sealBatch(p []byte) (buf, rest []byte, err error) {
	buf = s.buf[:0]
	for len(p) > 0 {
		chunk := p[:min(len(p), maxPlaintext)]
		if cap(buf)-len(buf) < lenSize+len(chunk)+tagSize {
			break
		}
		start := len(buf)
		buf = append(buf, 0, 0)
		if buf, err = s.cs.seal(buf, chunk); err != nil {
			return nil, p, err
		}
		binary.BigEndian.PutUint16(buf[start:], uint16(len(buf)-start-lenSize))
		p = p[len(chunk):]
	}
	return buf, p, nil
}

// Read returns decrypted bytes of the stream. A message that fails to
// decrypt returns an error wrapping ErrDecrypt and closes the connection;
// the stream ending inside a message is io.ErrUnexpectedEOF. Both are
// final. A deadline is not: Read may be called again.
func (c *Conn) Read(p []byte) (int, error) {
	c.rx.mu.Lock()
	defer c.rx.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	for len(c.rx.plain) == 0 {
		if c.rx.err != nil {
			return 0, c.rx.err
		}
		n, err := c.readMessage(p)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			return n, nil
		}
	}
	n := copy(p, c.rx.plain)
	c.rx.plain = c.rx.plain[n:]
	return n, nil
}

// readMessage reads and decrypts one transport message: straight into p if
// it fits, else into the receive buffer (rx.plain). It returns the number of
// bytes put in p.
func (c *Conn) readMessage(p []byte) (int, error) {
	rx := &c.rx
	if err := c.fill(lenSize); err != nil {
		return 0, err
	}
	size := int(binary.BigEndian.Uint16(rx.buf[rx.r:]))
	if size < tagSize {
		return 0, c.fail(fmt.Errorf("%w: message of %d bytes", ErrDecrypt, size))
	}
	if err := c.fill(lenSize + size); err != nil {
		return 0, err
	}
	ct := rx.buf[rx.r+lenSize : rx.r+lenSize+size]
	rx.r += lenSize + size
	dst := ct[:0] // decrypt in place
	if len(p) >= size-tagSize {
		dst = p[:0]
	}
	plain, err := rx.cs.open(dst, ct)
	if err != nil {
		return 0, c.fail(err)
	}
	if len(p) >= size-tagSize {
		return len(plain), nil
	}
	rx.plain = plain
	return 0, nil
}

// fill reads from the network until the receive buffer holds n unused bytes.
func (c *Conn) fill(n int) error {
	rx := &c.rx
	for rx.w-rx.r < n {
		if rx.r == rx.w {
			rx.r, rx.w = 0, 0
		} else if rx.r+n > len(rx.buf) { // move the partial message to the front
			rx.w = copy(rx.buf, rx.buf[rx.r:rx.w])
			rx.r = 0
		}
		m, err := c.conn.Read(rx.buf[rx.w:])
		rx.w += m
		if err != nil && rx.w-rx.r < n {
			return c.readError(err)
		}
	}
	return nil
}

// readError turns a network read error into Read's error and keeps it for
// later Reads unless it is a timeout.
func (c *Conn) readError(err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("noise read: %w", err)
	case err == io.EOF && c.rx.r == c.rx.w:
		c.rx.err = io.EOF
	case err == io.EOF:
		c.rx.err = fmt.Errorf("noise read: %w", io.ErrUnexpectedEOF)
	default:
		c.rx.err = fmt.Errorf("noise read: %w", err)
	}
	return c.rx.err
}

// fail makes a decryption error final: the stream can no longer be trusted,
// so the connection is closed.
func (c *Conn) fail(err error) error {
	c.rx.err = fmt.Errorf("noise read: %w", err)
	c.conn.Close()
	return c.rx.err
}

// Close closes the underlying connection.
func (c *Conn) Close() error { return c.conn.Close() }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the underlying connection.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the underlying connection.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the underlying connection.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// cipherState encrypts or decrypts one direction of transport messages as
// Noise's AESGCM cipher does (nonce: 4 zero bytes, then the big-endian
// message counter), reusing its nonce buffer so that no message allocates.
type cipherState struct {
	aead  cipher.AEAD
	n     uint64
	nonce [gcmNonceSize]byte
}

// init takes over the key and counter of a cipher state from the handshake.
func (s *cipherState) init(cs *noise.CipherState) error {
	key := cs.UnsafeKey()
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return err
	}
	s.aead, err = cipher.NewGCM(block)
	s.n = cs.Nonce()
	return err
}

// next returns the nonce for the next message.
func (s *cipherState) next() ([]byte, error) {
	if s.n > nonceLimit {
		return nil, noise.ErrMaxNonce
	}
	binary.BigEndian.PutUint64(s.nonce[4:], s.n)
	s.n++
	return s.nonce[:], nil
}

func (s *cipherState) seal(out, plain []byte) ([]byte, error) {
	nonce, err := s.next()
	if err != nil {
		return nil, err
	}
	return s.aead.Seal(out, nonce, plain, nil), nil
}

func (s *cipherState) open(out, ciphertext []byte) ([]byte, error) {
	nonce, err := s.next()
	if err != nil {
		return nil, err
	}
	plain, err := s.aead.Open(out, nonce, ciphertext, nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}
