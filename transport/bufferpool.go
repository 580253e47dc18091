package transport

import (
	"net/http/httputil"
	"sync"
)

// BufferSize is the length of the buffers of a [BufferPool].
const BufferSize = 32 << 10

// BufferPool is an [httputil.BufferPool] of BufferSize-byte buffers for
// [httputil.ReverseProxy.BufferPool], backed by [sync.Pool]. In steady
// state Get and Put do not allocate.
//
// The zero value is ready to use. A BufferPool is safe for simultaneous use
// by multiple goroutines and must not be copied after first use.
type BufferPool struct {
	bufs    sync.Pool // *[]byte holding a buffer
	holders sync.Pool // *[]byte emptied by Get, reused by Put
}

var _ httputil.BufferPool = (*BufferPool)(nil)

// Get returns a buffer of length BufferSize, from the pool if it has one.
func (p *BufferPool) Get() []byte {
	h, ok := p.bufs.Get().(*[]byte)
	if !ok {
		return make([]byte, BufferSize)
	}
	b := *h
	*h = nil
	p.holders.Put(h)
	return b
}

// Put returns b to the pool. A buffer with a capacity below BufferSize is
// dropped. The caller must not use b afterwards.
func (p *BufferPool) Put(b []byte) {
	if cap(b) < BufferSize {
		return
	}
	h, ok := p.holders.Get().(*[]byte)
	if !ok {
		h = new([]byte)
	}
	*h = b[:BufferSize]
	p.bufs.Put(h)
}
