package balancer

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// Every request allocates its requestState: it must stay within the
// 640-byte size class (the next is 704).
func TestRequestStateSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(requestState{}), uintptr(640),
		"requestState grew past the 640-byte size class: move what few requests use behind a pointer")
}
