package service

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	kernel32              = windows.NewLazySystemDLL("kernel32.dll")
	getConsoleProcessList = kernel32.NewProc("GetConsoleProcessList")
	freeConsole           = kernel32.NewProc("FreeConsole")
)

// DetachConsole closes the console window that Windows opened for this
// process alone, as it does for a scheduled task: the daemon then runs
// without a window, writing to its log file. A console shared with a shell
// is left alone. It reports whether it detached.
func DetachConsole() bool {
	var pids [2]uint32
	n, _, _ := getConsoleProcessList.Call(uintptr(unsafe.Pointer(&pids[0])), uintptr(len(pids)))
	if n != 1 {
		return false
	}
	r, _, _ := freeConsole.Call()
	return r != 0
}
