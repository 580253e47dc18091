package transport

import "testing"

func TestBufferPool(t *testing.T) {
	var p BufferPool
	b := p.Get()
	if len(b) != BufferSize || cap(b) < BufferSize {
		t.Fatalf("Get: len %d cap %d, want len %d", len(b), cap(b), BufferSize)
	}
	p.Put(b[:10]) // a short slice of a full buffer is restored to full length
	for range 3 {
		if got := p.Get(); len(got) != BufferSize {
			t.Fatalf("Get after Put: len %d, want %d", len(got), BufferSize)
		}
	}
	p.Put(make([]byte, 100)) // too small: dropped
	if got := p.Get(); len(got) != BufferSize {
		t.Fatalf("Get after a small Put: len %d, want %d", len(got), BufferSize)
	}
}

func TestBufferPoolDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		// sync.Pool drops items at random under the race detector, by
		// design; the property only holds in a normal build.
		t.Log("race detector on: allocation count not meaningful")
		return
	}
	var p BufferPool
	p.Put(p.Get())
	allocs := testing.AllocsPerRun(100, func() { p.Put(p.Get()) })
	if allocs != 0 {
		t.Errorf("Get+Put allocated %v times per run, want 0", allocs)
	}
}
