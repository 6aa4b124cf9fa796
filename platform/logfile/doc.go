// Package logfile is the daemon's log file: an append-only file that is
// rotated by size, with a bounded number of old files kept beside it.
//
// Rotation is gopkg.in/natefinch/lumberjack.v2's: when a write would take
// the file past the size cap, the file is renamed with a timestamp
// ("ferry-2026-01-02T15-04-05.000.log") and a new one is started; of the
// old files, only the newest few are kept.
//
// The log names files and devices, so it is private: a new file is made
// 0600 and its missing directories 0700. An existing file keeps its mode
// without any bit for others (at most 0640, so that an administrator can
// make a system service's log readable to its group), and a file started
// by a rotation gets the same mode back, whatever the process's umask.
package logfile
