package transport

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// errBodyDetached is what the inner transport reads from a request body
// that was handed back to the caller after a NotSentError. It never reaches
// the caller.
var errBodyDetached = errors.New("transport: request body handed back to the caller")

// sendBody wraps the caller's request body for one attempt. It records
// whether the inner transport has started reading it, and it holds back
// Close, which net/http calls on some early errors, until the attempt's
// outcome is known: after a NotSentError the caller gets the body back
// untouched (detach); otherwise Close goes through (release).
type sendBody struct {
	rc io.ReadCloser // the caller's body; nil for none

	read atomic.Bool // a Read was started; set only with mu held

	mu          sync.Mutex // protects the fields below and the setting of read
	detached    bool       // handed back: Read fails, Close does nothing
	released    bool       // Close closes rc
	closeWanted bool       // Close was called before release
	closed      bool       // rc.Close was called
}

// Read marks the body as read and reads from the caller's body, unless the
// body was handed back.
func (b *sendBody) Read(p []byte) (int, error) {
	if !b.read.Load() {
		b.mu.Lock()
		if b.detached {
			b.mu.Unlock()
			return 0, errBodyDetached
		}
		b.read.Store(true)
		b.mu.Unlock()
	}
	return b.rc.Read(p)
}

// Close closes the caller's body once the attempt was released, or
// remembers the call until then. After detach it does nothing.
func (b *sendBody) Close() error {
	b.mu.Lock()
	if b.detached || b.closed {
		b.mu.Unlock()
		return nil
	}
	if !b.released {
		b.closeWanted = true
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	return b.rc.Close()
}

// detach hands the body back to the caller if no Read was ever started,
// and reports whether it did. After it, Read fails and Close does nothing,
// whatever goroutine of the inner transport still holds the wrapper.
func (b *sendBody) detach() bool {
	if b.rc == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.read.Load() {
		return false
	}
	b.detached = true
	return true
}

// release lets Close through: the body stays with the inner transport,
// which closes it (now, if it already tried).
func (b *sendBody) release() {
	if b.rc == nil {
		return
	}
	b.mu.Lock()
	if b.detached || b.released {
		b.mu.Unlock()
		return
	}
	b.released = true
	closeNow := b.closeWanted && !b.closed
	if closeNow {
		b.closed = true
	}
	b.mu.Unlock()
	if closeNow {
		b.rc.Close()
	}
}
