package apachetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// procAttr makes the kernel stop httpd when the test process dies without
// running its Cleanup (killed, or its output pipe closed), so that no server
// outlives its test.
//
// The kernel forgets that request when a process changes its user, as httpd
// does when started as root (it refuses to serve as root and switches to
// its User). So a root test starts httpd as nobody from the beginning, gives
// nobody the server directory dir, and lets nobody traverse dir's parents
// inside the temporary directory (the testing package makes them 0700).
func procAttr(dir string) (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if os.Geteuid() != 0 {
		return attr, nil
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		return nil, err
	}
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Dir(dir); strings.HasPrefix(d, tmp+string(filepath.Separator)); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return nil, err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return nil, fmt.Errorf("let httpd (user %d) reach %s: %v", nobody, dir, err)
			}
		}
	}
	attr.Credential = &syscall.Credential{Uid: nobody, Gid: nobody}
	return attr, nil
}
