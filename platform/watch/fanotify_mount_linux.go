package watch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// checkNoMountBelow fails if a filesystem is mounted inside dir: a
// filesystem mark sees dir's own filesystem only, where inotify watches
// every directory, whatever its filesystem.
func checkNoMountBelow(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("list mounts: %w", err)
	}
	defer f.Close()
	mount, err := mountBelow(f, dir)
	switch {
	case err != nil:
		return fmt.Errorf("list mounts: %w", err)
	case mount != "":
		return fmt.Errorf("%s is a mount inside %s", mount, dir)
	}
	return nil
}

// mountBelow returns the first mount point strictly inside dir in
// mountinfo, the format of /proc/self/mountinfo, or "" if there is none.
func mountBelow(mountinfo io.Reader, dir string) (string, error) {
	sc := bufio.NewScanner(mountinfo)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// ID, parent ID, major:minor, root, mount point, ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		point := unescapeMount(fields[4])
		if _, ok := below(point, dir); ok {
			return point, nil
		}
	}
	return "", sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
