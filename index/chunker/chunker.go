package chunker

import (
	"errors"
	"fmt"
	"io"
)

// Chunker cuts a stream into blocks. It reads through one buffer of 4×Max
// bytes that it reuses, so memory stays flat whatever the stream's length.
type Chunker struct {
	r            io.Reader
	p            Params
	maskS, maskL uint64
	err          error // sticky: invalid params or a read error

	buf        []byte
	start, end int   // unreturned data is buf[start:end]
	off        int64 // stream offset of buf[start]
	eof        bool  // r is exhausted; buf holds the rest of the stream
}

// New returns a Chunker reading r. Invalid params are reported by the first
// call to Next.
func New(r io.Reader, p Params) *Chunker {
	return newChunker(r, p, nil)
}

// newChunker is New with a buffer to use if it is large enough.
func newChunker(r io.Reader, p Params, buf []byte) *Chunker {
	c := &Chunker{r: r, p: p}
	if err := p.Validate(); err != nil {
		c.err = err
		return c
	}
	c.maskS, c.maskL = p.masks()
	if cap(buf) < p.bufSize() {
		buf = make([]byte, p.bufSize())
	}
	c.buf = buf[:p.bufSize()]
	return c
}

// Next returns the next block and its offset in the stream, or io.EOF after
// the last one. An empty stream has no blocks. data is only valid until the
// next call: it points into the Chunker's buffer.
func (c *Chunker) Next() (offset int64, data []byte, err error) {
	if c.err != nil {
		return c.off, nil, c.err
	}
	if c.end-c.start < c.p.Max && !c.eof {
		if err := c.fill(); err != nil {
			c.err = err
			return c.off, nil, err
		}
	}
	if c.start == c.end {
		c.err = io.EOF
		return c.off, nil, io.EOF
	}
	n := cutPoint(c.buf[c.start:c.end], c.p, c.maskS, c.maskL)
	offset, data = c.off, c.buf[c.start:c.start+n]
	c.start += n
	c.off += int64(n)
	return offset, data, nil
}

// fill moves the unreturned data to the front of the buffer and reads until
// the buffer is full or the stream ends.
func (c *Chunker) fill() error {
	c.end = copy(c.buf, c.buf[c.start:c.end])
	c.start = 0
	n, err := io.ReadFull(c.r, c.buf[c.end:])
	c.end += n
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		c.eof = true
	case err != nil:
		return fmt.Errorf("chunk at offset %d: %w", c.off+int64(c.end), err)
	}
	return nil
}
