package chunker

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/zeebo/blake3"

	"ferry/proto"
)

// bufPool recycles the read buffers of Blocks, which is called once per
// scanned file. It is a cache only: what it holds never changes a result.
var bufPool = sync.Pool{
	New: func() any {
		b := make([]byte, DefaultParams.bufSize())
		return &b
	},
}

// HashBlock returns the BLAKE3-256 hash of one block's data.
func HashBlock(data []byte) proto.Hash { return blake3.Sum256(data) }

// Blocks cuts r into blocks and hashes each one. An empty stream has no
// blocks (nil) and no error.
//
// A stream that fits in one buffer (4×Max bytes) is cut and hashed in the
// calling goroutine. A longer one is cut in the calling goroutine and hashed
// in a second one, with three buffers in turn so that neither side waits for
// the other. Finding boundaries and hashing cost about the same, so on a large
// file this nearly doubles the speed when a second core is free (3.1 against
// 1.8 GB/s here).
func Blocks(r io.Reader, p Params) ([]proto.Block, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	maskS, maskL := p.masks()
	s := &splitter{r: r, p: p, maskS: maskS, maskL: maskL}
	seg, err := s.next(getBuf(p))
	if err != nil || seg.last {
		defer putBuf(seg.buf)
		return hashSegment(nil, seg), err
	}
	return s.pipeline(seg)
}

// segment is a buffer whose first bytes hold whole blocks.
type segment struct {
	buf   *[]byte
	off   int64 // stream offset of (*buf)[0]
	sizes []int
	last  bool // no segment follows
}

// splitter reads a stream into segments: it fills a buffer, cuts as many
// blocks as are certain, and carries the rest over to the next buffer.
type splitter struct {
	r            io.Reader
	p            Params
	maskS, maskL uint64
	carry        []byte // start of the next block, in the previous buffer
	off          int64  // stream offset of carry
}

// next fills bp (which may be the buffer carry points into) and cuts it.
func (s *splitter) next(bp *[]byte) (segment, error) {
	buf := *bp
	n := copy(buf, s.carry)
	m, err := io.ReadFull(s.r, buf[n:])
	n += m
	seg := segment{buf: bp, off: s.off}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		seg.last = true
	case err != nil:
		return seg, fmt.Errorf("chunk at offset %d: %w", s.off+int64(n), err)
	}
	pos := 0
	for pos < n && (seg.last || n-pos >= s.p.Max) {
		size := cutPoint(buf[pos:n], s.p, s.maskS, s.maskL)
		seg.sizes = append(seg.sizes, size)
		pos += size
	}
	s.carry = buf[pos:n]
	s.off += int64(pos)
	return seg, nil
}

// pipelineBuffers is how many buffers a pipelined Blocks uses: two let the
// sides alternate but stall each other; a third keeps both busy.
const pipelineBuffers = 3

// pipeline hashes first and the segments after it in a second goroutine
// while the calling one reads and cuts.
func (s *splitter) pipeline(first segment) ([]proto.Block, error) {
	free := make(chan *[]byte, pipelineBuffers)
	for range pipelineBuffers - 1 { // the first segment holds the other one
		free <- getBuf(s.p)
	}
	segs := make(chan segment, 1)
	done := make(chan []proto.Block)
	go func() {
		var blocks []proto.Block
		for seg := range segs {
			blocks = hashSegment(blocks, seg)
			free <- seg.buf
		}
		done <- blocks
	}()
	seg := first
	var err error
	for {
		segs <- seg
		if seg.last {
			break
		}
		if seg, err = s.next(<-free); err != nil {
			free <- seg.buf
			break
		}
	}
	close(segs)
	blocks := <-done
	for range pipelineBuffers {
		putBuf(<-free)
	}
	if err != nil {
		return nil, err
	}
	return blocks, nil
}

// hashSegment appends seg's blocks to blocks.
func hashSegment(blocks []proto.Block, seg segment) []proto.Block {
	off := 0
	for _, size := range seg.sizes {
		data := (*seg.buf)[off : off+size]
		blocks = append(blocks, proto.Block{Offset: seg.off + int64(off), Size: int32(size), Hash: HashBlock(data)})
		off += size
	}
	return blocks
}

func getBuf(p Params) *[]byte {
	bp := bufPool.Get().(*[]byte)
	if len(*bp) != p.bufSize() {
		b := make([]byte, p.bufSize())
		bp = &b
	}
	return bp
}

func putBuf(bp *[]byte) {
	if len(*bp) == DefaultParams.bufSize() {
		bufPool.Put(bp)
	}
}
