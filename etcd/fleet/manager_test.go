package fleet

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/proxybalancer/balancer/manager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestManagerEditReachesTheFleet posts an edit to one replica's
// balancer-manager and finds it on the others, with its provenance.
func TestManagerEditReachesTheFleet(t *testing.T) {
	srv := etcdtest.Start(t)
	cfg := testConfig("http://m0.test", "http://m1.test")
	gw0 := startReplica(t, srv, "gw0", cfg)
	gw1 := startReplica(t, srv, "gw1", cfg)
	var mu sync.Mutex
	var events []balancer.ChangeEvent
	gw1.b.OnChange(func(ev balancer.ChangeEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})

	mgr, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{gw0.b}, Nonces: map[string]string{"app": "n"}})
	require.NoError(t, err)
	defer mgr.Close()
	req := httptest.NewRequest("POST", "http://localhost/balancer-manager", strings.NewReader(
		`{"balancer": "app", "nonce": "n", "members": [{"url": "http://m1.test", "loadFactor": 4, "flags": {"D": true}}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "10.0.0.7:5000"
	rec := httptest.NewRecorder()
	mgr.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	waitFor(t, gw1, func() bool { m := gw1.b.State().Members[1]; return m.LoadFactor == 4 && m.Flags == "D" })
	syncAll(t, srv.Client(), gw0, gw1)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, events)
	ev := events[len(events)-1]
	assert.Equal(t, Source, ev.Change.Source)
	assert.Equal(t, "gw0: "+manager.Source+" 10.0.0.7:5000", ev.Change.Who)
}
