package fleet

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxybalancer/balancer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFieldsToChange(t *testing.T) {
	b, err := balancer.New(testConfig("http://m0.test", "http://m1.test"))
	require.NoError(t, err)
	fs := fieldSet{
		"param/method":                         json.RawMessage(`"bybusyness"`),
		"param/timeout":                        json.RawMessage(`5000000000`),
		"present/http:%2F%2Fm2.test":           json.RawMessage(`true`),
		"member/http:%2F%2Fm2.test/route":      json.RawMessage(`"r9"`),
		"present/http:%2F%2Fm1.test":           json.RawMessage(`false`),
		"member/http:%2F%2Fm1.test/lbSet":      json.RawMessage(`3`), // removed: left out
		"member/http:%2F%2Fm0.test/flag/D":     json.RawMessage(`true`),
		"member/http:%2F%2Fm0.test/flag/S":     json.RawMessage(`false`),
		"member/http:%2F%2Fm0.test/hc/uri":     json.RawMessage(`"/up"`),
		"member/http:%2F%2Fother.test/lbSet":   json.RawMessage(`1`), // not here: left out
		"member/http:%2F%2Fm0.test/loadFactor": json.RawMessage(`"x"`),
		"log":                                  json.RawMessage(`{}`),
	}
	c, errs := fs.change(b.State())
	require.Len(t, errs, 1)
	assert.ErrorContains(t, errs[0], `member/http:%2F%2Fm0.test/loadFactor: value "x"`)
	want := balancer.Change{
		Method:  ptr("bybusyness"),
		Timeout: ptr(5 * time.Second),
		Remove:  []string{"http://m1.test"},
		Add:     []balancer.MemberChange{{URL: "http://m2.test"}},
		Members: []balancer.MemberChange{
			{URL: "http://m0.test", Set: "D", Clear: "S", HealthCheck: &balancer.HealthCheckChange{URI: ptr("/up")}},
			{URL: "http://m2.test", Route: ptr("r9")},
		},
	}
	assert.Empty(t, cmp.Diff(want, c))
	require.NoError(t, b.Apply(c))

	// The state's fields make the same state on a fresh balancer.
	b2, err := balancer.New(testConfig("http://m0.test", "http://m1.test"))
	require.NoError(t, err)
	c2, errs := fieldSet(stateFields(b.State())).change(b2.State())
	require.Empty(t, errs)
	require.NoError(t, b2.Apply(c2))
	// m1 is not in b's state: no present=false for it, so b2 keeps it.
	st := b2.State()
	require.Len(t, st.Members, 3)
	st.Members = append(st.Members[:1], st.Members[2:]...)
	assert.Empty(t, cmp.Diff(b.State(), st))
}
