//go:build !linux

package watch

// platformEvents are watched besides notify.All; elsewhere than Linux,
// notify.All is all there is portably.
const platformEvents = 0

// notifyBackend names what notify uses here, for logs.
const notifyBackend = "notify"
