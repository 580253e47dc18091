package manager_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

// A member ejected by outlier detection shows its Ejct flag on the page
// and is not usable.
func TestManagerShowsEjectedMember(t *testing.T) {
	b, err := balancer.New(balancer.Config{Name: "shop", Transport: newStub("a"),
		Members: []balancer.Member{{URL: "http://a"}, {URL: "http://b"}},
		Outlier: &balancer.OutlierDetection{Consecutive5xx: 1, MaxEjectionPercent: 50}})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("GET", "http://example.com/", nil))
	require.Equal(t, http.StatusOK, w.Code, "failed over to b")
	require.True(t, b.Members()[0].Status.Has(balancer.StatusEjected), "a ejected after one failure")

	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}})
	require.NoError(t, err)
	page := get(t, mg, "http://example.com/balancer-manager")
	require.Equal(t, http.StatusOK, page.Code)
	assert.Contains(t, page.Body.String(), "Ejct")

	js := get(t, mg, "http://example.com/balancer-manager?json", "Accept", "application/json")
	require.Equal(t, http.StatusOK, js.Code)
	assert.Contains(t, js.Body.String(), `"status": "Init Err Ejct"`)
	assert.Contains(t, js.Body.String(), `"ejectedUntil": "`)
	assert.Contains(t, js.Body.String(), `"ejections": 1`)
}
