package platform

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultHome returns ferry's home directory: $FERRY_HOME if set, else
// "ferry" in the user's config directory (e.g. ~/.config/ferry on Linux).
func DefaultHome() (string, error) {
	if h := os.Getenv("FERRY_HOME"); h != "" {
		return h, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find home directory (set FERRY_HOME or use --home): %w", err)
	}
	return filepath.Join(dir, "ferry"), nil
}
