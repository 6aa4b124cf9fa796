//go:build !linux

package watch

import (
	"log/slog"

	"github.com/syncthing/notify"
)

// startEvents starts the event source for dir: notify, the only one here.
func startEvents(dir string, events chan notify.EventInfo, log *slog.Logger) (eventSource, error) {
	return startNotify(dir, events, log)
}
