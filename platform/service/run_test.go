package service

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var errStopped = errors.New("stopped")

// blockingRun runs until its context ends, then returns errStopped. started
// is closed once it runs; returned is set just before it returns.
func blockingRun(started chan struct{}, returned *atomic.Bool) func(context.Context) error {
	return func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		time.Sleep(time.Second) // a clean shutdown takes a while
		returned.Store(true)
		return errStopped
	}
}

func TestProgramStartStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		var returned atomic.Bool
		p := NewProgram(blockingRun(started, &returned), 10*time.Second)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		<-started
		synctest.Wait()
		if returned.Load() {
			t.Fatal("run returned before Stop")
		}
		begin := time.Now()
		if err := p.Stop(); !errors.Is(err, errStopped) {
			t.Fatalf("Stop returned %v, want run's error", err)
		}
		if !returned.Load() {
			t.Fatal("Stop returned before run did")
		}
		if d := time.Since(begin); d != time.Second {
			t.Fatalf("Stop took %v, want the 1s run took to shut down", d)
		}
		if err := p.Start(); err == nil {
			t.Fatal("second Start succeeded")
		}
	})
}

func TestProgramStopTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p := NewProgram(func(ctx context.Context) error {
			<-release // ignores its context
			return nil
		}, 10*time.Second)
		p.Start()
		begin := time.Now()
		err := p.Stop()
		if err == nil || !strings.Contains(err.Error(), "still running 10s") {
			t.Fatalf("Stop returned %v, want a timeout", err)
		}
		if d := time.Since(begin); d != 10*time.Second {
			t.Fatalf("Stop gave up after %v, want 10s", d)
		}
		close(release)
		<-p.Done()
	})
}

func TestProgramStopBeforeStart(t *testing.T) {
	p := NewProgram(func(context.Context) error { return errStopped }, time.Second)
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
}

// TestWaitStopEndsWithRun checks the RunWait hook: a daemon that fails on
// its own ends the wait, and Stop then reports its error.
func TestWaitStopEndsWithRun(t *testing.T) {
	boom := errors.New("listen: address in use")
	p := NewProgram(func(context.Context) error { return boom }, time.Second)
	p.Start()
	waitStop(p)
	if err := p.Stop(); !errors.Is(err, boom) {
		t.Fatalf("Stop returned %v, want %v", err, boom)
	}
}

func TestAdapterEarlyExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		got := make(chan error, 1)
		a := &adapter{p: NewProgram(func(context.Context) error { return boom }, time.Second), onEarlyExit: func(err error) { got <- err }}
		a.Start(nil)
		if err := <-got; err != boom {
			t.Fatalf("onEarlyExit got %v", err)
		}

		started := make(chan struct{})
		var returned atomic.Bool
		a = &adapter{p: NewProgram(blockingRun(started, &returned), 10*time.Second), onEarlyExit: func(err error) { got <- err }}
		a.Start(nil)
		<-started
		if err := a.Stop(nil); !errors.Is(err, errStopped) {
			t.Fatalf("Stop: %v", err)
		}
		synctest.Wait()
		select {
		case err := <-got:
			t.Fatalf("onEarlyExit called after a stop, with %v", err)
		default:
		}
	})
}

// TestRunManagedEndsWhenRunFails runs a failing daemon through the service
// library as a service manager would start it: Run must return the
// daemon's error instead of waiting for a signal that never comes.
func TestRunManagedEndsWhenRunFails(t *testing.T) {
	boom := errors.New("listen: address in use")
	done := make(chan error, 1)
	go func() {
		done <- runManaged("ferry-test", NewProgram(func(context.Context) error { return boom }, time.Second), nil)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("runManaged returned %v, want %v", err, boom)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runManaged still waits 10s after the daemon failed")
	}
}
