// Package service installs and runs ferry as an operating-system service,
// on top of github.com/kardianos/service.
//
// A service runs "<ferry binary> --home <home> serve --log-file <log>" and
// is either a user service (the default: a systemd user unit on Linux, a
// LaunchAgent on macOS, a scheduled task at the user's logon on Windows) or
// a system-wide one (a systemd system unit, a LaunchDaemon, a Windows
// service). Windows services run as a service account and need an
// administrator, so a Windows user's ferry is a task ([TaskXML]), managed
// with schtasks.
//
// The log file is in the platform's usual place ([LogPath]) and is written
// into the service's command line, so the daemon does not guess where it
// runs; for a system-wide service the install makes its directory (0750)
// and the file (0640) for the service's user, who cannot create them under
// /var/log or /Library/Logs.
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
