// Package service installs and runs ferry as an operating-system service,
// on top of github.com/kardianos/service.
//
// A service runs "<ferry binary> --home <home> serve" and is either a user
// service (the default: a systemd user unit on Linux, a LaunchAgent on
// macOS) or a system-wide one (a systemd system unit, a LaunchDaemon).
// Windows has only system services, so both modes install one there.
//
// ferry writes its own service files ([UnitFile], [LaunchdPlist]) instead of
// the library's defaults, which on systemd want multi-user.target even for a
// user unit (a user manager has no such target, so the unit would never
// start at login) and wait 120 s before a restart, and on macOS do not run
// the job at load. Both files restart ferry only after a failure, 5 s later.
//
// On Linux only systemd is supported. The library silently falls back to
// System V init scripts when systemd is not PID 1, so [NewController]
// checks the init system first ([DetectInit]) and refuses with a
// [*NoManagerError] where no service manager runs (a container whose PID 1
// is a shell, say), or where a user unit is wanted but the user's systemd
// manager is not running.
//
// [Run] is how "ferry serve" runs: under a service manager it hands the
// process to the library, so that Windows service control reaches it; in a
// terminal it runs until SIGINT or SIGTERM. Either way the daemon gets a
// context that is cancelled on stop, and a stop waits a bounded time for it
// to return.
package service
