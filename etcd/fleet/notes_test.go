package fleet

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/proxybalancer/balancer/manager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestManagerShowsOutage kills etcd under a replica whose
// balancer-manager has the Fleet's Notes: the manager's JSON and page
// show the outage and the edit kept meanwhile, then the recovery.
func TestManagerShowsOutage(t *testing.T) {
	srv := etcdtest.Start(t)
	r := startReplica(t, srv, "gw0", testConfig("http://m0.test", "http://m1.test"))
	mgr, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{r.b}, Notes: r.f.Notes})
	require.NoError(t, err)
	defer mgr.Close()
	fleetNote := func() manager.Note {
		t.Helper()
		rec := httptest.NewRecorder()
		mgr.ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost/balancer-manager?json", nil))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var doc struct {
			Notes []manager.Note `json:"notes"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
		require.Len(t, doc.Notes, 1, rec.Body.String())
		return doc.Notes[0]
	}
	page := func() string {
		rec := httptest.NewRecorder()
		mgr.ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost/balancer-manager", nil))
		return rec.Body.String()
	}

	n := fleetNote() // connected since Load
	assert.True(t, n.OK, n.Detail)
	assert.Equal(t, "fleet", n.Name)
	assert.Contains(t, n.Detail, "replica gw0: etcd connected since ")
	assert.Contains(t, page(), `<div class="msg ok" role="status" data-note="fleet">`)

	srv.Kill()
	r.logs.await(t, "WARN fleet: etcd unreachable", 1)
	require.NoError(t, r.b.Apply(balancer.Change{Source: "test", Who: "operator",
		Members: []balancer.MemberChange{{URL: "http://m1.test", LoadFactor: ptr(3.0)}}}))
	n = fleetNote()
	t.Logf("the manager during the outage: %s", n.Detail)
	assert.False(t, n.OK, n.Detail)
	assert.Contains(t, n.Detail, "replica gw0: etcd unreachable since ")
	assert.Contains(t, n.Detail, "serving with the state of revision ")
	assert.Contains(t, n.Detail, ", 1 edits waiting to be published")
	assert.Contains(t, page(), `<div class="msg error" role="status" data-note="fleet"><strong>fleet</strong>: replica gw0: etcd unreachable since `)

	srv.Restart()
	r.logs.await(t, "INFO fleet: etcd answers again", 1)
	require.NoError(t, r.f.Flush(t.Context()))
	n = fleetNote()
	assert.True(t, n.OK, n.Detail)
	assert.Contains(t, n.Detail, ", 0 edits waiting to be published")
	assert.False(t, strings.Contains(page(), "unreachable"))
	assert.Equal(t, 1, r.logs.count("WARN fleet: etcd unreachable"), "%q", r.logs.msgs)
}
