package balancer_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
)

// Panic mode: below the threshold of usable members the scheduler spreads
// over every member meant to serve, whatever its health; at or above it,
// Apache's choice among the usable ones.
func TestPanicThreshold(t *testing.T) {
	inError := func(t *testing.T, b *balancer.Balancer, urls ...string) {
		for _, u := range urls {
			require.NoError(t, b.SetStatus(u, balancer.StatusError, 0))
		}
	}
	t.Run("one of four usable: spread over all four", func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b", "c", "d", "e status=D", "f status=H"),
			Transport: newStub(), PanicThreshold: 0.5})
		inError(t, b, "http://a", "http://b", "http://c")
		assert.Equal(t, []string{"a", "b", "c", "d", "a", "b", "c", "d"}, seq(t, b, 8, nil),
			"the disabled and the standby member are not meant to serve")
		d := b.Decide(httptest.NewRequest("GET", "http://front.example/x", nil))
		assert.Equal(t, "http://a", d.Member, "Decide sees the panic too")
	})
	t.Run("two of four usable: no panic", func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b", "c", "d"), Transport: newStub(), PanicThreshold: 0.5})
		inError(t, b, "http://a", "http://b")
		assert.Equal(t, []string{"c", "d", "c", "d"}, seq(t, b, 4, nil))
	})
	t.Run("off: only the usable member", func(t *testing.T) {
		b := mustNew(t, balancer.Config{Members: members("a", "b", "c", "d"), Transport: newStub()})
		inError(t, b, "http://a", "http://b", "http://c")
		assert.Equal(t, []string{"d", "d", "d"}, seq(t, b, 3, nil))
	})
	t.Run("members that refuse: failover never tries one twice", func(t *testing.T) {
		st := newStub("a", "b", "c")
		b := mustNew(t, balancer.Config{Members: members("a", "b", "c", "d"), Transport: st, PanicThreshold: 0.5})
		inError(t, b, "http://a", "http://b", "http://c")
		assert.Equal(t, []string{"d", "d", "d", "d"}, seq(t, b, 4, nil), "no client error")
		t.Logf("attempts at members for 4 requests: %v", st.Attempts())
		// Each request ends at d: split the attempts there.
		var groups [][]string
		var cur []string
		for _, h := range st.Attempts() {
			assert.NotContains(t, cur, h, "a request tried %s twice", h)
			cur = append(cur, h)
			if h == "d" {
				groups, cur = append(groups, cur), nil
			}
		}
		assert.Len(t, groups, 4)
		assert.Empty(t, cur)
	})
	t.Run("bad value", func(t *testing.T) {
		_, err := balancer.New(balancer.Config{Name: "p", Members: members("a"), PanicThreshold: 1.5})
		assert.ErrorContains(t, err, "panicthreshold 1.5")
	})
}
