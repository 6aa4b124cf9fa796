package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kardianos/service"
)

// StopTimeout bounds how long Run waits, on a stop, for the daemon to return.
const StopTimeout = 10 * time.Second

// Run runs run until it is stopped. Under a service manager (see
// service.Interactive) it runs run as the service's work, so that the
// manager's stop (a Windows service control, or SIGTERM) cancels run's
// context, and waits up to StopTimeout for run to return. In a terminal it
// calls run with a context cancelled on SIGINT or SIGTERM. It returns run's
// error.
func Run(name string, run func(ctx context.Context) error) error {
	if service.Interactive() {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx)
	}
	return runManaged(name, NewProgram(run, StopTimeout), exitOnEarlyReturn())
}

// exitOnEarlyReturn is what to do when the daemon returns without a stop.
// The Windows control loop only ends on a stop request, so a daemon that
// fails on its own must end the process for the service manager to see the
// failure and restart it. Elsewhere the RunWait hook notices.
func exitOnEarlyReturn() func(error) {
	if runtime.GOOS != "windows" {
		return nil
	}
	return func(err error) {
		slog.Error("ferry stopped on its own", "err", err)
		os.Exit(1)
	}
}

// runManaged runs p under the service library, which calls its Start and
// Stop; onEarlyExit, if set, is called when p's run returns by itself.
func runManaged(name string, p *Program, onEarlyExit func(error)) error {
	cfg := &service.Config{
		Name: name,
		// Outside Windows the library calls Start, then this, then Stop:
		// end also when the daemon returns by itself (the default waits
		// for a signal only, leaving a dead daemon looking alive).
		Option: service.KeyValue{"RunWait": func() { waitStop(p) }},
	}
	s, err := service.New(&adapter{p: p, onEarlyExit: onEarlyExit}, cfg)
	if err != nil {
		return fmt.Errorf("run as service %s: %w", name, err)
	}
	return s.Run()
}

// waitStop returns on SIGINT or SIGTERM, or when p's run has returned.
func waitStop(p *Program) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-p.Done():
	}
}

// Program runs one function as a service's work: Start launches it with a
// fresh context, Stop cancels the context and waits for it to return. Start
// and Stop are called one after the other, not concurrently.
type Program struct {
	run      func(ctx context.Context) error
	timeout  time.Duration
	cancel   context.CancelFunc
	done     chan struct{}
	err      error // run's result, set before done is closed
	stopping atomic.Bool
}

// NewProgram returns a Program for run whose Stop waits at most
// stopTimeout.
func NewProgram(run func(ctx context.Context) error, stopTimeout time.Duration) *Program {
	return &Program{run: run, timeout: stopTimeout, done: make(chan struct{})}
}

// Start launches run and returns at once.
func (p *Program) Start() error {
	if p.cancel != nil {
		return errors.New("start: already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		p.err = p.run(ctx)
	}()
	return nil
}

// Done is closed once run has returned.
func (p *Program) Done() <-chan struct{} { return p.done }

// Stop cancels run's context and waits for run to return, at most the stop
// timeout. It returns run's error, or an error if run is still running.
func (p *Program) Stop() error {
	if p.cancel == nil {
		return nil
	}
	p.stopping.Store(true)
	p.cancel()
	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
		return fmt.Errorf("stop: still running %s after the stop request", p.timeout)
	}
}

// adapter is a Program as the library's service.Interface.
type adapter struct {
	p *Program
	// onEarlyExit, if set, is called when run returns without a stop.
	onEarlyExit func(err error)
}

func (a *adapter) Start(service.Service) error {
	if err := a.p.Start(); err != nil {
		return err
	}
	if a.onEarlyExit != nil {
		go func() {
			<-a.p.Done()
			if !a.p.stopping.Load() {
				a.onEarlyExit(a.p.err)
			}
		}()
	}
	return nil
}

func (a *adapter) Stop(service.Service) error { return a.p.Stop() }
