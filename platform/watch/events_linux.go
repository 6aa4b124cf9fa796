package watch

import "github.com/syncthing/notify"

// platformEvents are watched besides notify.All. notify.All has no event for
// a change of permissions or times alone (chmod, touch, cp -p), which ferry
// syncs, so on Linux attribute changes are watched too.
const platformEvents = notify.InAttrib

// notifyBackend names what notify uses here, for logs.
const notifyBackend = "inotify"
