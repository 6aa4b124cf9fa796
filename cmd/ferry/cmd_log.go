package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ferry/platform/logfile"
	"ferry/platform/service"
)

var logUsage = usage{
	name:     "log",
	synopsis: "[-f] [-n N] [--system] [--file PATH]",
	help: "Print the last lines of the log of this user's service (with --system, of the system-wide one), as it is.\n" +
		"With -f, keep printing what is added, across rotations, until interrupted (Ctrl-C).\n" +
		"The log is where `ferry install` told: " + logPlaces() + ".",
}

// maxTailLines bounds -n: the lines are found by reading backwards, and
// printed as they are read.
const maxTailLines = 1_000_000

// followPoll is how often -f looks for new lines and a rotation.
const followPoll = 250 * time.Millisecond

func runLog(g *globals, args []string) int {
	fs := newFlagSet("log")
	follow := fs.Bool("f", false, "keep printing lines as they are added, until interrupted")
	n := fs.Int("n", 50, "print the last `N` lines (default 50)")
	system := fs.Bool("system", false, "the log of the system-wide service instead of this user's")
	file := fs.String("file", "", "the log file at `PATH` instead (as given to `ferry serve --log-file`)")
	if _, code, ok := g.parse(logUsage, fs, args, 0, 0); !ok {
		return code
	}
	if *n < 0 || *n > maxTailLines {
		return g.usageError(logUsage, fs, fmt.Errorf("bad -n %d: want 0 to %d", *n, maxTailLines))
	}
	mode := service.User
	if *system {
		mode = service.System
	}
	path := *file
	if path == "" {
		var err error
		if path, err = service.HostLogPath(mode); err != nil {
			return g.fail("log", err, "Pass the log's path with --file")
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return g.fail("log", err, logHint(err, mode, *file != ""))
	}
	defer f.Close()
	if err := tailLines(f, *n, g.stdout); err != nil {
		return g.fail("log", err, "")
	}
	if !*follow {
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := followLog(ctx, f, path, g.stdout, followPoll); err != nil {
		return g.fail("log", err, "")
	}
	return exitOK
}

// logHint says what to do when the log could not be opened.
func logHint(err error, mode service.Mode, named bool) string {
	switch {
	case named:
		return ""
	case errors.Is(err, fs.ErrNotExist) && mode == service.User:
		return "Has the service run? Install it with `ferry install`; for the system-wide service's log, `ferry log --system`"
	case errors.Is(err, fs.ErrNotExist):
		return "Has the service run? Install it with `ferry install --system`"
	case errors.Is(err, fs.ErrPermission) && mode == service.System:
		return "Run it as root (`sudo ferry log --system`), or as a member of the service user's group"
	}
	return ""
}

// logPlaces names the log's place on this platform for the help text.
func logPlaces() string {
	user, err1 := service.HostLogPath(service.User)
	system, err2 := service.HostLogPath(service.System)
	if err1 != nil || err2 != nil {
		return "see `ferry install`"
	}
	return user + ", or for the system-wide service " + system
}

// tailLines copies the last n lines of f to w, and leaves f at its end. It
// reads backwards in blocks to find where they start, so its memory does
// not grow with the file or n.
func tailLines(f *os.File, n int, w io.Writer) error {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Name(), err)
	}
	start, err := tailStart(f, end, n)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if _, err := io.Copy(w, io.NewSectionReader(f, start, end-start)); err != nil {
		return fmt.Errorf("print %s: %w", f.Name(), err)
	}
	return nil
}

// tailStart is the offset of the first of the last n lines of the first
// end bytes of r. A last line without its newline counts as a line.
func tailStart(r io.ReaderAt, end int64, n int) (int64, error) {
	if n == 0 {
		return end, nil
	}
	buf := make([]byte, 64<<10)
	pos := end
	want := n // newlines to pass, not counting the file's last byte
	first := true
	for pos > 0 {
		size := min(int64(len(buf)), pos)
		pos -= size
		b := buf[:size]
		if _, err := r.ReadAt(b, pos); err != nil && err != io.EOF {
			return 0, err
		}
		if first && b[len(b)-1] == '\n' {
			b = b[:len(b)-1] // the last line's own newline
		}
		first = false
		for i := bytes.LastIndexByte(b, '\n'); i >= 0; i = bytes.LastIndexByte(b, '\n') {
			if want--; want == 0 {
				return pos + int64(i) + 1, nil
			}
			b = b[:i]
		}
	}
	return 0, nil
}

// followLog copies what is added to f (open at path) to w until ctx ends,
// looking every poll. When the file at path is another one (the log
// rotated), it prints the rest of the old one and goes on with the new
// one from its start; when the file shrank (truncated), from its start.
func followLog(ctx context.Context, f *os.File, path string, w io.Writer, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	cur := f
	defer func() {
		if cur != f {
			cur.Close()
		}
	}()
	for {
		if _, err := io.Copy(w, cur); err != nil {
			return fmt.Errorf("follow %s: %w", path, err)
		}
		next, err := rotated(cur, path)
		if err != nil {
			return err
		}
		if next != nil {
			// The old file was closed before it was renamed: what is
			// left in it is all there will be.
			_, err := io.Copy(w, cur)
			if cur != f {
				cur.Close()
			}
			cur = next
			if err != nil {
				return fmt.Errorf("follow %s: %w", path, err)
			}
			continue // the new file may have lines already
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// rotated returns the file now at path when it is not f, or f rewound
// when it was truncated; nil when nothing changed or path is missing for
// now (between a rotation's rename and the new file).
func rotated(f *os.File, path string) (*os.File, error) {
	cur, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", path, err)
	}
	now, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", path, err)
	}
	if !os.SameFile(cur, now) {
		next, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return next, err
	}
	if pos, err := f.Seek(0, io.SeekCurrent); err == nil && now.Size() < pos {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("follow %s: %w", path, err)
		}
	}
	return nil, nil
}

// logOutput is where serve writes its log. Without a log file that is
// stderr. With one it is the file, and stderr as well while stderr is a
// terminal (someone is watching) or the systemd journal (journalctl keeps
// working as before); under launchd, Task Scheduler or the Windows service
// manager stderr goes nowhere useful, so the file alone.
func (g *globals) logOutput(path string) (io.Writer, func(), error) {
	if path == "" {
		return g.stderr, func() {}, nil
	}
	// A scheduled task's console window, which would stay open on the
	// user's desktop.
	service.DetachConsole()
	lf, err := logfile.Open(path, logfile.Options{})
	if err != nil {
		return nil, nil, err
	}
	closeLog := func() { lf.Close() }
	if f, ok := g.stderr.(*os.File); ok && (isTerminal(f) || logfile.IsJournal(f)) {
		return io.MultiWriter(lf, f), closeLog, nil
	}
	return lf, closeLog, nil
}
