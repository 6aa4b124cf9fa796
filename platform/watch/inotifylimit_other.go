//go:build !linux

package watch

import (
	"log/slog"

	"github.com/syncthing/notify"
)

// addNotifyWatch asks notify to watch dir recursively.
func addNotifyWatch(dir string, events chan notify.EventInfo, _ *slog.Logger) error {
	return notifyWatch(dir, events)
}
