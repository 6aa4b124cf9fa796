package platform

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestRulesGOOSOf(t *testing.T) {
	for _, tc := range []struct {
		fsType int64
		want   string
	}{
		{unix.MSDOS_SUPER_MAGIC, "windows"},
		{unix.EXFAT_SUPER_MAGIC, "windows"},
		{unix.EXT4_SUPER_MAGIC, "linux"},
		{unix.TMPFS_MAGIC, "linux"},
		{unix.BTRFS_SUPER_MAGIC, "linux"},
	} {
		if got := rulesGOOSOf(tc.fsType); got != tc.want {
			t.Errorf("rulesGOOSOf(%#x) = %q, want %q", tc.fsType, got, tc.want)
		}
	}
}
