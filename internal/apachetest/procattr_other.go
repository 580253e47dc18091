//go:build !linux

package apachetest

import "syscall"

// procAttr has nothing to add where a child cannot be told of its parent's
// death; Cleanup still stops httpd.
func procAttr(dir string) (*syscall.SysProcAttr, error) { return nil, nil }
