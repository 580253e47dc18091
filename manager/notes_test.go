package manager_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

// Config.Notes: the page and the JSON show each call's notes, a failing
// one as an error, escaped; without Notes the JSON has no "notes".
func TestManagerNotes(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "shop", Transport: newStub(), Members: members("a")})
	var mu sync.Mutex
	notes := []manager.Note{{Name: "fleet", OK: false, Detail: "etcd unreachable since 11:02:03: <refused>"}}
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b},
		Notes: func() []manager.Note {
			mu.Lock()
			defer mu.Unlock()
			return notes
		}})
	require.NoError(t, err)

	jsonNotes := func() []manager.Note {
		t.Helper()
		w := get(t, mg, "http://example.com/balancer-manager?json")
		require.Equal(t, http.StatusOK, w.Code)
		var doc struct {
			Notes []manager.Note `json:"notes"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
		return doc.Notes
	}
	assert.Empty(t, cmp.Diff(notes, jsonNotes()))
	page := get(t, mg, "http://example.com/balancer-manager").Body.String()
	assert.Contains(t, page, `<div class="msg error" role="status" data-note="fleet"><strong>fleet</strong>: etcd unreachable since 11:02:03: &lt;refused&gt;</div>`)

	mu.Lock()
	notes = []manager.Note{{Name: "fleet", OK: true, Detail: "connected, revision 7"}, {Name: "other", OK: true, Detail: "fine"}}
	mu.Unlock()
	assert.Empty(t, cmp.Diff(notes, jsonNotes()))
	page = get(t, mg, "http://example.com/balancer-manager").Body.String()
	assert.Contains(t, page, `<div class="msg ok" role="status" data-note="fleet"><strong>fleet</strong>: connected, revision 7</div>`)
	assert.Contains(t, page, `data-note="other"`)
	assert.NotContains(t, page, "unreachable")

	plain, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}})
	require.NoError(t, err)
	w := get(t, plain, "http://example.com/balancer-manager?json")
	assert.NotContains(t, w.Body.String(), `"notes"`)
	assert.NotContains(t, get(t, plain, "http://example.com/balancer-manager").Body.String(), "data-note")
}

// A status line of an integration on the manager's page and JSON.
func ExampleConfig_notes() {
	b, err := balancer.New(balancer.Config{Name: "app", Members: []balancer.Member{{URL: "http://10.0.0.1:8080"}}})
	if err != nil {
		panic(err)
	}
	mg, err := manager.New(manager.Config{Balancers: []*balancer.Balancer{b},
		Notes: func() []manager.Note {
			return []manager.Note{{Name: "fleet", OK: false, Detail: "etcd unreachable since 11:02:03"}}
		}})
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	mg.ServeHTTP(w, httptest.NewRequest("GET", "http://localhost/balancer-manager?json", nil))
	var doc struct{ Notes []manager.Note }
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", doc.Notes)
	// Output: [{Name:fleet OK:false Detail:etcd unreachable since 11:02:03}]
}
