package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"ferry/engine/config"
	"ferry/engine/node"
	"ferry/platform/service"
	"ferry/web"
)

var serveUsage = usage{
	name:     "serve",
	synopsis: "[--listen ADDR]... [--gui ADDR] [--no-lan] [--lan-port PORT] [--no-dht] [--dht-port PORT] [--dht-bootstrap HOST:PORT[,HOST:PORT...]] [--no-portmap] [--max-send RATE] [--max-recv RATE] [--log-format text|json] [--log-level LEVEL] [--log-file PATH]",
	help: "Run the daemon in the foreground until SIGINT or SIGTERM.\nIt syncs every configured folder with its devices and serves the local web UI and API.\n" +
		"It announces this device on the local network (UDP broadcast and IPv6 multicast) and finds the others there;\n" +
		"--no-lan turns that off (devices are then reached at their configured addresses only).\n" +
		"It finds trusted devices across the internet through the BitTorrent Mainline DHT, on UDP at the sync port's\n" +
		"number (--dht-port to change it; --dht-bootstrap or dht.bootstrap in the config to join through other nodes;\n" +
		"--no-dht turns it off), and asks the router to forward the sync port by UPnP or NAT-PMP (--no-portmap turns\n" +
		"that off). Devices that cannot reach each other connect through a device both trust.\n" +
		"--max-send and --max-recv limit what this device sends to and receives from all devices together, in bytes\n" +
		"per second (e.g. 500K, 1.5M, 2MB/s; K/M/G are 1024-based; 0 for no limit). They replace maxSend and maxRecv of the\n" +
		"config for this run, and a change of those in the config while it runs does not undo them. Like the\n" +
		"config's, they leave out devices on the local network unless limitLAN is set in the config; a device's\n" +
		"own limits (maxSend and maxRecv of the device in the config) apply on top, the local network included.\n" +
		"It logs to stderr; with --log-file to that file (rotated at 10 MiB, three old files kept, private to this user),\n" +
		"and to stderr as well when stderr is a terminal or the systemd journal. The service that `ferry install` makes\n" +
		"passes its log file (see `ferry log`).",
}

// heapSoftLimit is the daemon's soft limit on the Go heap unless GOMEMLIMIT
// sets another.
const heapSoftLimit = 96 << 20

// gcPercent is the daemon's garbage-collection target unless GOGC sets
// another: a collection starts when the heap has grown by half of what
// survived the last one, not by all of it. The daemon's live heap is small
// and its garbage comes in bursts (an index batch, a walk), so the peak falls
// by about a fifth for a few percent more CPU.
const gcPercent = 50

func runServe(g *globals, args []string) int {
	fs := newFlagSet("serve")
	var listen stringList
	fs.Var(&listen, "listen", "address to accept device connections on (repeatable; default from config)")
	gui := fs.String("gui", "", "address of the web UI and API (default from config, 127.0.0.1:8484)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	logFile := fs.String("log-file", "", "write the log to the file at `PATH`, rotated by size")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until the daemon stops")
	memProfile := fs.String("memprofile", "", "write a heap profile to this file every 10 seconds while the daemon runs")
	noLAN := fs.Bool("no-lan", false, "do not announce or look for devices on the local network")
	lanPort := fs.Int("lan-port", 0, "UDP port of local discovery (default 21025; every device on a network must use the same)")
	noDHT := fs.Bool("no-dht", false, "do not announce or look for devices in the Mainline DHT")
	dhtPort := fs.Int("dht-port", 0, "UDP port of the DHT node (default: the number of the sync port)")
	dhtBootstrap := fs.String("dht-bootstrap", "", "comma-separated HOST:PORT of DHT nodes to join through (default from config, else the public routers)")
	noPortmap := fs.Bool("no-portmap", false, "do not ask the router to forward the sync port")
	var maxSend, maxRecv *int64
	rateFlag := func(name, what string, to **int64) {
		fs.Func(name, "limit what this device "+what+" all devices together to `RATE` bytes per second (500K, 1.5M, 0 for none; K/M/G are 1024-based; default from config)", func(s string) error {
			r, err := config.ParseRate(s)
			*to = &r
			return err
		})
	}
	rateFlag("max-send", "sends to", &maxSend)
	rateFlag("max-recv", "receives from", &maxRecv)
	if _, code, ok := g.parse(serveUsage, fs, args, 0, 0); !ok {
		return code
	}
	logOut, closeLog, err := g.logOutput(*logFile)
	if err != nil {
		return g.fail("serve", err, "Pass another --log-file")
	}
	defer closeLog()
	logger, err := newLogger(logOut, *logFormat, *logLevel)
	if err != nil {
		return g.usageError(serveUsage, fs, err)
	}
	boot, err := parseHostPorts(*dhtBootstrap)
	if err != nil {
		return g.usageError(serveUsage, fs, fmt.Errorf("bad --dht-bootstrap: %w", err))
	}
	if *dhtPort < 0 || *dhtPort > 65535 {
		return g.usageError(serveUsage, fs, fmt.Errorf("bad --dht-port %d: want 1-65535", *dhtPort))
	}
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return g.fail("serve", err, "")
		}
		defer stopProfile()
	}
	if *memProfile != "" {
		stop := writeHeapProfiles(*memProfile, logger)
		defer stop()
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The heap stays near what the daemon holds instead of doubling
		// with garbage between collections; above the limit the
		// collector works harder, and never stops the daemon.
		debug.SetMemoryLimit(heapSoftLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	var recorded atomic.Value // the API address this daemon recorded, once it runs
	defer func() {
		if addr, ok := recorded.Load().(string); ok {
			removeAPIAddr(g.home, addr)
		}
	}()
	if *logFile != "" {
		// A line to tell one run from the next in a file that outlives it.
		logger.Info("ferry starting", "home", g.home, "pid", os.Getpid())
	}
	err = service.Run(service.DefaultName, func(ctx context.Context) error {
		err := node.Run(ctx, node.Options{
			Home: g.home, Listen: listen, GUI: *gui, Logger: logger, NoLAN: *noLAN, LANPort: *lanPort,
			DHT: !*noDHT, DHTPort: *dhtPort, DHTBootstrap: boot, Portmap: !*noPortmap,
			MaxSend: maxSend, MaxRecv: maxRecv,
			Ready: func(addr string) {
				if err := writeAPIAddr(g.home, addr); err != nil {
					logger.Warn("cannot record the API address; CLI commands may not find this daemon", "err", err)
				} else {
					recorded.Store(addr)
				}
				if *logFile != "" {
					logger.Info("ferry is running", "gui", "http://"+addr+"/")
				}
				// The signed-in link goes only to a terminal, never
				// into a service's log.
				key, err := web.ReadAPIKey(g.home)
				if err == nil && isTerminal(g.stdout) {
					fmt.Fprintf(g.stdout, "ferry is running; web UI at %s\n(the link signs you in; keep it to yourself)\n", uiURL(addr, key))
				} else {
					fmt.Fprintf(g.stdout, "ferry is running; web UI at http://%s/ (run `ferry ui` to open it signed in)\n", addr)
				}
			},
		})
		if err != nil && *logFile != "" {
			// Said here: a Windows service's process ends right after.
			logger.Error("ferry stopped", "err", err)
		}
		return err
	})
	if err != nil {
		return g.fail("serve", err, "")
	}
	if *logFile != "" {
		logger.Info("ferry stopped")
	}
	return exitOK
}

// parseHostPorts parses a comma-separated list of HOST:PORT; nil for "".
func parseHostPorts(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, hp := range strings.Split(s, ",") {
		hp = strings.TrimSpace(hp)
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%q is not HOST:PORT", hp)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %q is not a number from 1 to 65535", hp, port)
		}
		out = append(out, hp)
	}
	return out, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad --log-format %q: want text or json", format)
}

// writeHeapProfiles writes a heap profile to path every 10 seconds, and
// once more when the returned function is called.
func writeHeapProfiles(path string, log *slog.Logger) func() {
	write := func() {
		tmp := path + ".tmp"
		f, err := os.Create(tmp)
		if err == nil {
			err = pprof.Lookup("heap").WriteTo(f, 0)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			log.Warn("heap profile not written", "err", err)
		}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				write()
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		write()
	}
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
