package lbmethod

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hashMembers returns n members of load factor 1 named like the
// balancer's normalised URLs, numbered from first.
func hashMembers(first, n int) []*Member {
	ms := make([]*Member, n)
	for i := range ms {
		k := first + i
		ms[i] = NewMember(fmt.Sprintf("http://10.%d.%d.%d:8080", k>>16&255, k>>8&255, k&255), "", 100)
	}
	return ms
}

func newHash(t testing.TB, cfg HashConfig) *Hash {
	t.Helper()
	h, err := NewHash(cfg)
	require.NoError(t, err)
	return h
}

const movementKeys = 100_000

// assign returns, for each of the movement test's keys, the name of the
// member h picks among cands (no request in flight, so no bound applies).
func assign(t *testing.T, h *Hash, cands []*Member) []string {
	t.Helper()
	out := make([]string, movementKeys)
	for i := range out {
		k := h.PickKey(cands, hashString(fmt.Sprintf("session-%d", i)), 0)
		require.GreaterOrEqual(t, k, 0)
		out[i] = cands[k].Name
	}
	return out
}

// TestHashMovement: with 10 members, adding an 11th moves at most 1/11 + 1
// percentage point of 100,000 keys, all of them to the new member; removing
// one (from the member list, or out of use) moves only its keys.
func TestHashMovement(t *testing.T) {
	ms := hashMembers(0, 11)
	ten := ms[:10]
	before := assign(t, newHash(t, HashConfig{}), ten)

	t.Run("add", func(t *testing.T) {
		after := assign(t, newHash(t, HashConfig{}), ms)
		moved, elsewhere := 0, 0
		for i := range before {
			if before[i] != after[i] {
				moved++
				if after[i] != ms[10].Name {
					elsewhere++
				}
			}
		}
		share := float64(moved) / movementKeys
		t.Logf("10 -> 11 members: %d of %d keys moved (%.2f%%; 1/11 = %.2f%%), %d of them not to the new member",
			moved, movementKeys, 100*share, 100.0/11, elsewhere)
		assert.LessOrEqual(t, share, 1.0/11+0.01)
		assert.Greater(t, moved, 0)
		assert.Zero(t, elsewhere)
	})

	for _, how := range []string{"removed", "out of use"} {
		t.Run(how, func(t *testing.T) {
			h := newHash(t, HashConfig{})
			if how == "out of use" {
				assign(t, h, ten) // the ring knows all ten
			}
			gone := ten[3]
			rest := append(append([]*Member(nil), ten[:3]...), ten[4:]...)
			after := assign(t, h, rest)
			moved, owned, others := 0, 0, 0
			for i := range before {
				if before[i] == gone.Name {
					owned++
				}
				if before[i] != after[i] {
					moved++
					if before[i] != gone.Name {
						others++
					}
				}
			}
			t.Logf("member %s %s: %d keys moved, it had %d; %d keys of other members moved", gone.Name, how, moved, owned, others)
			assert.Equal(t, owned, moved)
			assert.Zero(t, others)
		})
	}
}

// TestHashSameRingAnyOrder: the member a key goes to depends on the
// members' names, not on their order or on the ring's history.
func TestHashSameRingAnyOrder(t *testing.T) {
	ms := hashMembers(0, 20)
	a := newHash(t, HashConfig{})
	b := newHash(t, HashConfig{})
	shuffled := hashMembers(0, 20) // other Members, same names
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	// b has seen a larger list first; its extra members are passed over.
	b.PickKey(append(hashMembers(100, 5), ms...), 1, 0)
	for i := range 2000 {
		key := hashString(fmt.Sprint(i))
		assert.Equal(t, ms[a.PickKey(ms, key, 0)].Name, shuffled[b.PickKey(shuffled, key, 0)].Name, "key %d", i)
	}
}

// TestHashBoundedLoads: requests with skewed keys (a few keys carry most
// of them) pile up on the members; with bounded loads no member ever holds
// more than ceil(c × average) of the requests in flight, and without them
// the hot keys' members do.
func TestHashBoundedLoads(t *testing.T) {
	for _, c := range []float64{1.25, 1.5, -1} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			ms := hashMembers(0, 10)
			h := newHash(t, HashConfig{Balance: c})
			rnd := rand.New(rand.NewPCG(5, 6))
			zipf := rand.NewZipf(rnd, 1.2, 1, 999)
			var inflight int64
			for i := range 20_000 {
				if i%3 == 2 && inflight > 0 { // requests end now and then
					for {
						m := ms[rnd.IntN(len(ms))]
						if m.Busy() > 0 {
							m.AddBusy(-1)
							inflight--
							break
						}
					}
				}
				k := h.PickKey(ms, hashString(fmt.Sprint(zipf.Uint64())), 0)
				require.GreaterOrEqual(t, k, 0)
				ms[k].AddBusy(1)
				inflight++
				if c > 0 {
					require.LessOrEqual(t, float64(ms[k].Busy()), math.Ceil(c*float64(inflight)/float64(len(ms))), "pick %d: member %d has %d of %d in flight", i, k, ms[k].Busy(), inflight)
				}
			}
			loads := make([]int64, len(ms))
			var top int64
			for i, m := range ms {
				loads[i] = m.Busy()
				top = max(top, loads[i])
			}
			avg := float64(inflight) / float64(len(ms))
			t.Logf("c=%v: in flight %d, loads %v, max %d = %.3f × average", c, inflight, loads, top, float64(top)/avg)
			if c > 0 {
				assert.LessOrEqual(t, float64(top), math.Ceil(c*float64(inflight)/float64(len(ms))))
			} else {
				assert.Greater(t, float64(top), 1.5*avg, "without a bound the hot keys' members should be overloaded")
			}
		})
	}
}

// TestHashWeights: a member of load factor 3 owns about three times the
// keys of one of factor 1, and a bound scales with the weight.
func TestHashWeights(t *testing.T) {
	ms := hashMembers(0, 3)
	ms[2].SetFactor(300)
	h := newHash(t, HashConfig{})
	counts := make([]int, len(ms))
	for i := range 50_000 {
		counts[h.PickKey(ms, hashString(fmt.Sprint(i)), 0)]++
	}
	t.Logf("factors 1, 1, 3: keys %v", counts)
	assert.InDelta(t, 0.6, float64(counts[2])/50_000, 0.02)

	// A factor change rebuilds the ring.
	ms[2].SetFactor(100)
	counts = make([]int, len(ms))
	for i := range 30_000 {
		counts[h.PickKey(ms, hashString(fmt.Sprint(i)), 0)]++
	}
	t.Logf("factors 1, 1, 1: keys %v", counts)
	for _, n := range counts {
		assert.InDelta(t, 1.0/3, float64(n)/30_000, 0.02)
	}
}

// TestHashPickWithoutKey: a request without a key is scheduled as
// byrequests schedules it.
func TestHashPickWithoutKey(t *testing.T) {
	ms := hashMembers(0, 3)
	ref := hashMembers(0, 3)
	for i, f := range []int64{100, 200, 300} {
		ms[i].SetFactor(f)
		ref[i].SetFactor(f)
	}
	h := newHash(t, HashConfig{})
	br := NewByRequests()
	for range 12 {
		assert.Equal(t, br.Pick(ref), h.Pick(ms))
	}
}

func TestNewHashErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  HashConfig
		want string
	}{
		{HashConfig{Balance: 0.5}, "lbmethod: hash balance 0.5: out of range"},
		{HashConfig{Balance: math.NaN()}, "hash balance NaN"},
		{HashConfig{Balance: math.Inf(1)}, "hash balance +Inf"},
		{HashConfig{Key: HashKey{Source: KeyHeader}}, "hash key header: empty name"},
		{HashConfig{Key: HashKey{Source: KeyCookie, Name: "a b"}}, `hash key cookie name "a b"`},
		{HashConfig{Key: HashKey{Source: KeyPath, Name: "x"}}, `hash key path: name "x" given`},
		{HashConfig{Key: HashKey{Source: 9}}, "hash key source 9: unknown"},
	} {
		_, err := NewHash(tc.cfg)
		if assert.Error(t, err, "%+v", tc.cfg) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	h := newHash(t, HashConfig{Balance: -1, Key: HashKey{Source: KeyHeader, Name: "x-user"}})
	assert.Zero(t, h.Balance())
	assert.Equal(t, "header:X-User", h.Key().String(), "the header name is canonical")
	assert.Equal(t, DefaultHashBalance, newHash(t, HashConfig{}).Balance())
}

func TestParseHashKey(t *testing.T) {
	for in, want := range map[string]HashKey{
		"client":         {},
		"PATH":           {Source: KeyPath},
		"header:x-user":  {Source: KeyHeader, Name: "X-User"},
		"cookie:SESSION": {Source: KeyCookie, Name: "SESSION"},
		"query:user":     {Source: KeyQuery, Name: "user"},
	} {
		got, err := ParseHashKey(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "body", "header", "header:", "client:x"} {
		_, err := ParseHashKey(in)
		assert.Error(t, err, in)
	}
}

func TestHashKeyHash(t *testing.T) {
	req := func(target, remote string, h http.Header) *http.Request {
		r := httptest.NewRequest("GET", target, nil)
		r.RemoteAddr = remote
		for k, v := range h {
			r.Header[k] = v
		}
		return r
	}
	base := req("/app/a?u=1&user=alice&x", "192.0.2.1:4711", http.Header{
		"X-User": {"alice", "bob"},
		"Cookie": {"other=1; SESSION=s1.r2"},
	})
	tests := []struct {
		key      HashKey
		r        *http.Request
		want     string // the hashed text; "" for no key
		wantSame *http.Request
	}{
		{key: HashKey{Source: KeyHeader, Name: "X-User"}, r: base, want: "alice"},
		{key: HashKey{Source: KeyHeader, Name: "X-None"}, r: base},
		{key: HashKey{Source: KeyCookie, Name: "SESSION"}, r: base, want: "s1.r2"},
		{key: HashKey{Source: KeyCookie, Name: "ION"}, r: base},
		{key: HashKey{Source: KeyQuery, Name: "user"}, r: base, want: "alice"},
		{key: HashKey{Source: KeyQuery, Name: "u"}, r: base, want: "1"},
		{key: HashKey{Source: KeyQuery, Name: "x"}, r: base},
		{key: HashKey{Source: KeyPath}, r: base, want: "/app/a"},
		// The client's address without the port, IPv4-mapped or not.
		{key: HashKey{}, r: base, wantSame: req("/", "[::ffff:192.0.2.1]:9", nil)},
		{key: HashKey{}, r: req("/", "192.0.2.1", nil), wantSame: base},
		{key: HashKey{}, r: req("/", "@", nil)},
	}
	for _, tt := range tests {
		got, ok := tt.key.Hash(tt.r)
		switch {
		case tt.wantSame != nil:
			other, ok2 := tt.key.Hash(tt.wantSame)
			assert.True(t, ok && ok2, tt.key.String())
			assert.Equal(t, other, got, tt.key.String())
		case tt.want == "":
			assert.False(t, ok, "%s: key found", tt.key)
		default:
			assert.True(t, ok, tt.key.String())
			assert.Equal(t, hashString(tt.want), got, tt.key.String())
		}
	}
	c, _ := HashKey{}.Hash(base)
	other, _ := HashKey{}.Hash(req("/", "192.0.2.2:4711", nil))
	assert.NotEqual(t, c, other)

	for _, k := range []HashKey{{}, {Source: KeyHeader, Name: "X-User"}, {Source: KeyCookie, Name: "SESSION"}, {Source: KeyQuery, Name: "user"}, {Source: KeyPath}} {
		assert.Zero(t, testing.AllocsPerRun(100, func() { k.Hash(base) }), "%s allocates", k)
	}
}

// BenchmarkHashPickKey is the pick alone at 10, 1,000 and 10,000 members
// with a different key each time: "idle" with no request in flight (the
// member a key lands on is within its bound without a sum), "loaded" with
// 0, 1 or 2 requests in flight on each member (the bound is computed: a
// pass over the candidates when the key lands on a busy member); "named"
// is a list the balancer names (as its cached lists), "unnamed" one it
// does not (compared with the previous pick's).
func BenchmarkHashPickKey(b *testing.B) {
	for _, load := range []string{"idle", "loaded"} {
		for _, named := range []bool{true, false} {
			for _, n := range []int{10, 1000, 10_000} {
				name := fmt.Sprintf("%s/unnamed/members=%d", load, n)
				var list uint64
				if named {
					name, list = fmt.Sprintf("%s/named/members=%d", load, n), 1
				}
				b.Run(name, func(b *testing.B) {
					ms := hashMembers(0, n)
					if load == "loaded" {
						for i, m := range ms {
							m.AddBusy(int64(i % 3))
						}
					}
					h := newHash(b, HashConfig{})
					h.PickKey(ms, 0, list) // builds the ring
					b.ReportAllocs()
					var key uint64
					for b.Loop() {
						key += 0x9e3779b97f4a7c15
						if h.PickKey(ms, key, list) < 0 {
							b.Fatal("no pick")
						}
					}
				})
			}
		}
	}
}

// BenchmarkHashBuild is the ring's rebuild after a change of the member
// list.
func BenchmarkHashBuild(b *testing.B) {
	for _, n := range []int{10, 1000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ms := hashMembers(0, n)
			for b.Loop() {
				var r hashRing
				r.build(ms)
			}
		})
	}
}
