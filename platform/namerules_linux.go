package platform

import "golang.org/x/sys/unix"

// rulesGOOS returns the system whose name rules the folder's file system
// follows: FAT and exFAT hold only names Windows can, whatever mounts them.
func (f *Folder) rulesGOOS() string {
	d, err := f.root.Open(".")
	if err != nil {
		return "linux"
	}
	defer d.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(d.Fd()), &st); err != nil {
		return "linux"
	}
	return rulesGOOSOf(int64(st.Type))
}

// rulesGOOSOf maps a Linux file system type (statfs f_type) to the system
// whose name rules it follows.
func rulesGOOSOf(fsType int64) string {
	switch fsType {
	case unix.MSDOS_SUPER_MAGIC, unix.EXFAT_SUPER_MAGIC:
		return "windows"
	}
	return "linux"
}
