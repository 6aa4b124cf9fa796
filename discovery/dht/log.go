package dht

import (
	"context"
	"log/slog"

	alog "github.com/anacrolix/log"
)

// slogHandler passes the DHT library's log records to a slog.Logger.
type slogHandler struct{ l *slog.Logger }

func (h slogHandler) Handle(r alog.Record) {
	level := slog.LevelDebug
	switch r.Level {
	case alog.Info:
		level = slog.LevelInfo
	case alog.Warning:
		level = slog.LevelWarn
	case alog.Error, alog.Critical:
		level = slog.LevelError
	}
	h.l.Log(context.Background(), level, "dht: "+r.Msg.String())
}

// libLogger returns a library logger writing to l. Debug records are
// filtered early unless l wants them: the library builds them eagerly.
func libLogger(l *slog.Logger) alog.Logger {
	ll := alog.NewLogger("dht")
	ll.SetHandlers(slogHandler{l})
	if !l.Enabled(context.Background(), slog.LevelDebug) {
		ll = ll.FilterLevel(alog.Info)
	}
	return ll
}

// The library also logs some events, such as each malformed message a node
// receives, to its global logger, which writes to stderr: anyone who can
// send us datagrams could fill the daemon's log. Those go nowhere; the
// counts in Stats say what was dropped.
func init() {
	quiet := alog.NewLogger("dht")
	quiet.SetHandlers(alog.DiscardHandler)
	alog.Default = quiet
}
