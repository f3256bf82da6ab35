// Package dirsync makes a directory's entries durable: after a file is created or renamed in a
// directory, the directory itself must be synced for the new name to survive a crash. It is
// standard library only and safe for concurrent use.
package dirsync

import (
	"os"
	"runtime"
)

// Sync fsyncs the directory dir (a no-op on Windows, which cannot open directories for sync).
func Sync(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
