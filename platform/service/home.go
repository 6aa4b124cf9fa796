package service

import "runtime"

// SystemHome is the home directory of a system-wide service when none is
// given: a place of the service's user, not root's own home.
var SystemHome = map[string]string{
	"linux":  "/var/lib/ferry",
	"darwin": "/Library/Application Support/ferry",
}[runtime.GOOS]
