package platform

import (
	"fmt"
	"path"

	"ferry/proto"
)

// tempPrefix starts the base name of every temp file.
const tempPrefix = ".ferry-tmp-"

// checkName validates name for any Folder method with proto.ValidName, which
// also refuses ferry's own names (".ferry*").
func checkName(name string) error {
	if err := proto.ValidName(name); err != nil {
		return fmt.Errorf("refusing name: %w", err)
	}
	return nil
}

// parentDir returns the directory part of name, "." for a top-level name.
func parentDir(name string) string { return path.Dir(name) }
