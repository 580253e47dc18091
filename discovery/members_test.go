package discovery

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/proxybalancer/balancer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemberSetKeepsSurvivorsSettings(t *testing.T) {
	b := newBalancer(t, "HTTP://A.test:80", "http://b.test")
	s := &MemberSet{Balancer: b, Template: balancer.Member{LoadFactor: 3, Route: "new"}}
	// A runtime edit of a, which a refresh must not undo.
	require.NoError(t, b.Reconfigure(func(c *balancer.Config) error {
		c.Members[0].LoadFactor = 42
		return nil
	}))
	d, err := s.Apply([]Target{{URL: "http://a.test"}, {URL: "http://c.test"}})
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(Diff{Added: []string{"http://c.test"}, Removed: []string{"http://b.test"}}, d))
	ms := b.Members()
	require.Len(t, ms, 2)
	assert.Equal(t, 42.0, ms[0].LoadFactor)
	assert.Equal(t, 3.0, ms[1].LoadFactor)
	assert.Equal(t, "new", ms[1].Route)
}

func TestMemberSetWeights(t *testing.T) {
	b := newBalancer(t, "http://a.test")
	s := &MemberSet{Balancer: b}
	w := Target{URL: "http://a.test", LBSet: 1, LoadFactor: 5, HasWeight: true}
	_, err := s.Apply([]Target{w})
	require.NoError(t, err)
	assert.Equal(t, []memberView{{"http://a.test", 1, 5}}, view(b))

	// An edit at runtime survives while the registry's weight stays...
	require.NoError(t, b.Reconfigure(func(c *balancer.Config) error {
		c.Members[0].LoadFactor = 50
		return nil
	}))
	_, err = s.Apply([]Target{w})
	require.NoError(t, err)
	assert.Equal(t, []memberView{{"http://a.test", 1, 50}}, view(b))

	// ...and a new weight from the registry applies.
	w.LoadFactor = 9
	_, err = s.Apply([]Target{w})
	require.NoError(t, err)
	assert.Equal(t, []memberView{{"http://a.test", 1, 9}}, view(b))
}

func TestMemberSetRefuses(t *testing.T) {
	b := newBalancer(t, "http://a.test")
	s := &MemberSet{Balancer: b}
	for _, c := range []struct {
		ts   []Target
		want string
	}{
		{nil, "empty member list"},
		{[]Target{{URL: "ftp://x"}}, `target URL "ftp://x": balancer: member "ftp://x": scheme "ftp"`},
		{[]Target{{URL: "http://x"}, {URL: "HTTP://X:80"}}, `target URL "HTTP://X:80": listed twice`},
		{[]Target{{URL: "http://x", HasWeight: true, LoadFactor: 500}}, "500"},
	} {
		_, err := s.Apply(c.ts)
		assert.ErrorContains(t, err, c.want)
		assert.Equal(t, []memberView{{"http://a.test", 0, 1}}, view(b), "nothing changes on error")
	}
	_, err := (&MemberSet{}).Apply([]Target{{URL: "http://x"}})
	assert.ErrorContains(t, err, "MemberSet.Balancer is nil")
}
