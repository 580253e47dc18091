package manager_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
)

type jsonDoc struct {
	Balancers []struct {
		Name, Nonce        string
		Growth, GrowthUsed int
		Members            []struct {
			URL, Flags string
			Added      bool
		}
	}
}

func readJSON(t *testing.T, h http.Handler) jsonDoc {
	t.Helper()
	w := get(t, h, "/balancer-manager?json")
	require.Equal(t, 200, w.Code, w.Body.String())
	var d jsonDoc
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &d))
	return d
}

// A reload replaces the balancers: the one that stays keeps its nonce and
// the member added through the manager (still counted against growth); a
// new one gets its configured nonce and growth; the one left out is
// forgotten.
func TestManagerSetBalancers(t *testing.T) {
	shop, mg, _ := managed(t, func(c *manager.Config) {
		c.Nonces = nil // random nonces
		c.GrowthFor = map[string]int{"shop": 1}
	})
	old := mustNew(t, balancer.Config{Name: "old", Members: members("x"), Transport: newStub()})
	require.NoError(t, mg.SetBalancers([]*balancer.Balancer{shop, old}))
	before := readJSON(t, mg)
	require.Len(t, before.Balancers, 2)
	shopNonce := before.Balancers[0].Nonce
	require.Len(t, shopNonce, 36)
	assert.Equal(t, 1, before.Balancers[0].Growth)
	assert.Equal(t, 2, before.Balancers[1].Growth, "a balancer brought by SetBalancers gets Config.Growth")
	w := post(t, mg, map[string][]string{"b": {"shop"}, "nonce": {shopNonce}, "b_wyes": {"1"}, "b_nwrkr": {"http://d"}})
	require.Equal(t, 200, w.Code, w.Body.String())

	fresh := mustNew(t, balancer.Config{Name: "fresh", Members: members("y"), Transport: newStub()})
	require.NoError(t, mg.SetBalancers([]*balancer.Balancer{fresh, shop}))
	after := readJSON(t, mg)
	require.Len(t, after.Balancers, 2)
	assert.Equal(t, "balancer://fresh", after.Balancers[0].Name, "the page follows the new order")
	s := after.Balancers[1]
	assert.Equal(t, shopNonce, s.Nonce, "the balancer that stays keeps its nonce")
	assert.Equal(t, 1, s.GrowthUsed, "and its added member")
	assert.Len(t, after.Balancers[0].Nonce, 36)
	assert.NotEqual(t, shopNonce, after.Balancers[0].Nonce)

	// The old balancer is gone from the manager.
	w = get(t, mg, "/balancer-manager?b=old")
	assert.Equal(t, http.StatusNotFound, w.Code)
	// Growth is still spent: shop's one added member fills it.
	w = post(t, mg, map[string][]string{"b": {"shop"}, "nonce": {shopNonce}, "b_wyes": {"1"}, "b_nwrkr": {"http://e"}})
	assert.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "no room")

	// Errors change nothing.
	assert.ErrorContains(t, mg.SetBalancers(nil), "none given")
	assert.ErrorContains(t, mg.SetBalancers([]*balancer.Balancer{shop, shop}), "given twice")
	assert.Len(t, readJSON(t, mg).Balancers, 2)
}

// With a StateFile, SetBalancers applies the file to the balancers it
// brings, and changes applied by anyone (not only the manager) are saved.
func TestManagerStateFileFollowsEveryChange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	b := mustNew(t, shopConfig(newStub(), "a", "b"))
	mg := managerWithState(t, b, file)
	// A change from elsewhere: a script, a fleet sync.
	require.NoError(t, b.Apply(balancer.Change{Source: "etcd", Members: []balancer.MemberChange{{URL: "http://b", Set: "N"}}}))
	data, err := os.ReadFile(file)
	require.NoError(t, err, "the change was saved")
	assert.Contains(t, string(data), `"flags": "N"`)

	// A reload brings a new balancer with the same name: the file applies.
	b2 := mustNew(t, shopConfig(newStub(), "a", "b"))
	require.NoError(t, mg.SetBalancers([]*balancer.Balancer{b2}))
	assert.True(t, member(t, b2, "http://b").Status.Has(balancer.StatusDrain), "the persisted flag wins over the configuration")
	// The balancer left out is no longer followed.
	require.NoError(t, b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", Set: "D"}}}))
	data, err = os.ReadFile(file)
	require.NoError(t, err)
	var doc struct {
		Balancers map[string]struct{ Members []struct{ URL, Flags string } }
	}
	require.NoError(t, json.Unmarshal(data, &doc))
	assert.Equal(t, "", doc.Balancers["shop"].Members[0].Flags, "a change of the forgotten balancer is not saved")

	// Close ends the subscriptions.
	require.NoError(t, mg.Close())
	require.NoError(t, mg.Close())
	require.NoError(t, b2.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://a", Set: "H"}}}))
	data2, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(data2))
}

// The manager's changes carry their provenance to OnChange listeners.
func TestManagerChangeProvenance(t *testing.T) {
	b, mg, _ := managed(t)
	var got []balancer.ChangeEvent
	b.OnChange(func(ev balancer.ChangeEvent) { got = append(got, ev) })
	require.Equal(t, 200, post(t, mg, form("w", "http://a", "w_status_D", "1")).Code)
	require.Equal(t, 200, post(t, mg, form("w", "http://a", "w_status_D", "1")).Code, "no change: no event")
	require.Len(t, got, 1)
	c := got[0].Change
	assert.Equal(t, manager.Source, c.Source)
	assert.Equal(t, "192.0.2.1:1234", c.Who, "httptest's client address")
	assert.Equal(t, []balancer.MemberChange{{URL: "http://a", Set: "D"}}, c.Members)
	assert.Equal(t, "balancer://shop", got[0].Balancer)
}

// Who changed what: the manager remembers the changes applied to its
// balancers, by anyone, and shows them on the page and as JSON.
func TestManagerRecentChanges(t *testing.T) {
	b, mg, _ := managed(t)
	require.Equal(t, 200, post(t, mg, form("w", "http://a", "w_status_D", "1", "w_lf", "2")).Code)
	require.NoError(t, b.Apply(balancer.Change{Source: "etcd", Who: "gw-2", Version: 9, Timeout: ptr(3 * time.Second)}))

	w := get(t, mg, "/balancer-manager?changes")
	require.Equal(t, 200, w.Code)
	var doc struct {
		Changes []struct {
			Balancer string
			Seq      uint64
			Change   balancer.Change
		}
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc), w.Body.String())
	require.Len(t, doc.Changes, 2)
	assert.Equal(t, uint64(2), doc.Changes[0].Seq, "newest first")
	assert.Equal(t, "etcd", doc.Changes[0].Change.Source)
	assert.Equal(t, uint64(9), doc.Changes[0].Change.Version)
	assert.Equal(t, manager.Source, doc.Changes[1].Change.Source)
	assert.Equal(t, "balancer://shop", doc.Changes[1].Balancer)

	page := get(t, mg, "/balancer-manager").Body.String()
	assert.Contains(t, page, "balancer://shop · by gw-2 (etcd): timeout 3s")
	assert.Contains(t, page, "balancer://shop · by 192.0.2.1:1234 (balancer-manager): http://a factor 2 set D")
}
