package balancer

import (
	"net/http"
	"sync"
)

// wrapped is a member transport with Config.WrapTransport around it. The
// wrapper is built on the first attempt to the member rather than when the
// configuration changes, so that the user's function never runs under the
// configuration lock.
type wrapped struct {
	member string
	inner  http.RoundTripper
	wrap   func(member string, rt http.RoundTripper) http.RoundTripper

	once sync.Once
	rt   http.RoundTripper // the wrapper, or nil: inner
}

// hook returns the wrapping of rt for member, or nil when the
// configuration has no WrapTransport.
func (s *snapshot) hook(member string, rt http.RoundTripper) *wrapped {
	if s.wrap == nil {
		return nil
	}
	return &wrapped{member: member, inner: rt, wrap: s.wrap}
}

// get returns the wrapper, building it on first use. A wrapper that
// returned nil (or panicked) leaves the member's transport unwrapped.
func (w *wrapped) get() http.RoundTripper {
	w.once.Do(func() { w.rt = w.wrap(w.member, w.inner) })
	if w.rt == nil {
		return w.inner
	}
	return w.rt
}

// roundTripper returns what carries attempts to the member: its transport,
// wrapped by Config.WrapTransport if set.
func (c *memberConfig) roundTripper() http.RoundTripper {
	if c.hook != nil {
		return c.hook.get()
	}
	return c.rt
}
