package fleet

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/etcd/internal/etcdtest"
	"github.com/proxybalancer/balancer/manager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestFleetConfigErrors(t *testing.T) {
	b, err := balancer.New(testConfig("http://m0.test"))
	require.NoError(t, err)
	c := &clientv3.Client{}
	for _, tc := range []struct {
		f    *Fleet
		want string
	}{
		{&Fleet{Balancers: []*balancer.Balancer{b}}, "Fleet.Client is required"},
		{&Fleet{Client: c}, "Fleet.Balancers is empty"},
		{&Fleet{Client: c, Balancers: []*balancer.Balancer{nil}}, "Fleet.Balancers[0] is nil"},
		{&Fleet{Client: c, Balancers: []*balancer.Balancer{b, b}}, "Fleet.Balancers[1]: balancer://app listed twice"},
		{&Fleet{Client: c, Balancers: []*balancer.Balancer{b}, Prefix: "/x"}, `Fleet.Prefix "/x": must end in '/'`},
	} {
		assert.ErrorContains(t, tc.f.Load(context.Background()), tc.want)
		assert.ErrorContains(t, tc.f.Run(context.Background()), tc.want)
	}
}

func TestStatusHandler(t *testing.T) {
	srv := etcdtest.Start(t)
	gw0 := startReplica(t, srv, "gw0", testConfig("http://m0.test", "http://m1.test"))
	require.NoError(t, gw0.b.Apply(balancer.Change{Source: "balancer-manager", Who: "alice 10.0.0.7:5000",
		Members: []balancer.MemberChange{{URL: "http://m1.test", Set: "D"}}}))
	syncAll(t, srv.Client(), gw0)
	assert.ErrorContains(t, gw0.f.Run(context.Background()), "Run was already called")

	rec := httptest.NewRecorder()
	gw0.f.ServeHTTP(rec, httptest.NewRequest("GET", "/fleet", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var doc statusDoc
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	assert.Equal(t, "gw0", doc.Replica)
	assert.True(t, doc.Connected)
	assert.Zero(t, doc.Pending)
	require.Len(t, doc.History, 1)
	h := doc.History[0]
	assert.Equal(t, "alice 10.0.0.7:5000", h.Who)
	assert.Equal(t, "gw0", h.Replica)
	assert.Equal(t, map[string]string{"member/http:%2F%2Fm1.test/flag/D": "true"}, stringFields(h))

	rec = httptest.NewRecorder()
	gw0.f.ServeHTTP(rec, httptest.NewRequest("POST", "/fleet", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

func ExampleFleet() {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://127.0.0.1:2379"}})
	if err != nil {
		return
	}
	defer client.Close()
	b, err := balancer.New(balancer.Config{Name: "app", Members: []balancer.Member{{URL: "http://10.0.0.1:8080"}}})
	if err != nil {
		return
	}
	f := &Fleet{Client: client, Replica: "gw1", Balancers: []*balancer.Balancer{b}}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if err := f.Load(ctx); err != nil { // the fleet's state, before serving
		return
	}
	go func() { _ = f.Run(ctx) }() // publish local edits, apply the others'
	mux := http.NewServeMux()
	mux.Handle("/", b)
	mux.Handle("/fleet", f) // status and who changed what
	mgr, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{b}, Notes: f.Notes})
	if err != nil {
		return
	}
	mux.Handle("/balancer-manager", mgr) // shows the fleet's status too
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}
