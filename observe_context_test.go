package balancer_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
)

type traceKey struct{}

// The request events carry the client request's context: what handlers
// before the balancer put there, and the routing decision.
func TestObserverEventsCarryRequestContext(t *testing.T) {
	live, _ := namedBackend(t, "live")
	dead := closedPort(t)
	type seen struct {
		event, value, member string
		ok                   bool
	}
	var got []seen
	record := func(event string, ctx context.Context) {
		require.NotNil(t, ctx, event)
		v, _ := ctx.Value(traceKey{}).(string)
		info, ok := balancer.FromContext(ctx)
		got = append(got, seen{event, v, info.WorkerName, ok})
	}
	b := mustNew(t, balancer.Config{Name: "ctx", Members: []balancer.Member{{URL: dead}, {URL: live.URL}},
		Observer: &balancer.Observer{
			Picked:  func(ev balancer.PickEvent) { record("picked", ev.Context) },
			Retried: func(ev balancer.RetryEvent) { record("retried", ev.Context) },
			Done:    func(ev balancer.DoneEvent) { record("done", ev.Context) },
		}})
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(context.WithValue(r.Context(), traceKey{}, "span-1"))
	w := httptest.NewRecorder()
	b.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, []seen{
		{"picked", "span-1", dead, true},
		{"retried", "span-1", dead, true},
		{"picked", "span-1", live.URL, true},
		{"done", "span-1", live.URL, true},
	}, got)
}
