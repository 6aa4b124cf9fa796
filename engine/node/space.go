package node

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	"ferry/engine/config"
	"ferry/platform"
)

// errNoSpace says a pull would leave less free space than the minimum.
var errNoSpace = errors.New("not enough free disk space")

// space decides whether pulls fit on the disks they write to: the folder's
// and the home directory's, where the index grows. Pulls in flight reserve
// their size, so that many started at once do not all count the same free
// bytes.
type space struct {
	folder, home string
	min          config.MinFree
	diskSpace    func(path string) (free, total uint64, err error)

	mu       sync.Mutex
	reserved int64
}

func newSpace(folder, home string, min config.MinFree) *space {
	return &space{folder: folder, home: home, min: min, diskSpace: platform.DiskSpace}
}

// reserve checks that size more bytes fit on both disks and keeps them
// until release is called. The error wraps errNoSpace.
func (s *space) reserve(size int64) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range []struct {
		path string
		need int64
	}{{s.folder, size}, {s.home, 0}} {
		if p.path == "" {
			continue
		}
		free, total, err := s.diskSpace(p.path)
		if err != nil {
			return nil, err
		}
		keep := s.min.Keep(total)
		if int64(free)-s.reserved-p.need < keep {
			return nil, fmt.Errorf("%w on %s: %s free, %s wanted and %s kept free", errNoSpace, p.path,
				byteSize(int64(free)), byteSize(s.reserved+p.need), byteSize(keep))
		}
	}
	s.reserved += size
	return func() {
		s.mu.Lock()
		s.reserved -= size
		s.mu.Unlock()
	}, nil
}

// setMin changes the free space to keep.
func (s *space) setMin(m config.MinFree) {
	s.mu.Lock()
	s.min = m
	s.mu.Unlock()
}

// isNoSpace reports whether err means a disk is full.
func isNoSpace(err error) bool {
	return errors.Is(err, errNoSpace) || errors.Is(err, syscall.ENOSPC)
}

// byteSize formats n bytes for people.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
