package lbmethod_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/lbmethod"
)

// first is a custom scheduler: always the first candidate.
type first struct{ lbmethod.Base }

func (first) Pick(cands []*lbmethod.Member) int { return 0 }

// A custom scheduler becomes a Method with MethodFunc; every balancer
// configured with it gets its own scheduler from New.
func ExampleMethodFunc() {
	method := lbmethod.MethodFunc("first", func() lbmethod.Scheduler { return first{} })
	for _, name := range []string{"one", "two"} {
		b, err := balancer.New(balancer.Config{
			Name:    name,
			Method:  method,
			Members: []balancer.Member{{URL: "http://10.0.0.1"}, {URL: "http://10.0.0.2"}},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(b.Name(), b.Config().Method.Name())
	}
	// Output:
	// balancer://one first
	// balancer://two first
}

// ByName gives Apache's methods by their lbmethod names.
func ExampleByName() {
	m, err := lbmethod.ByName("bybusyness")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Name(), m == lbmethod.MethodByBusyness)
	_, err = lbmethod.ByName("roundrobin")
	fmt.Println(err)
	// Output:
	// bybusyness true
	// lbmethod: unknown method "roundrobin"
}

// Consistent hashing keyed by a header: each user keeps going to the same
// member, and a member out of use gives away only its own users. Requests
// without the header are scheduled as byrequests does.
func ExampleMethodHash() {
	method, err := lbmethod.MethodHash(lbmethod.HashConfig{
		Key:     lbmethod.HashKey{Source: lbmethod.KeyHeader, Name: "X-User"},
		Balance: 1.25, // no member over 1.25 × its share of the requests in flight
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := balancer.New(balancer.Config{
		Name:    "users",
		Method:  method,
		Members: []balancer.Member{{URL: "http://10.0.0.1"}, {URL: "http://10.0.0.2"}, {URL: "http://10.0.0.3"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	show := func() {
		var where []string
		for _, user := range []string{"alice", "bob", "carol", "dave"} {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("X-User", user)
			where = append(where, user+"→"+b.Decide(r).Member)
		}
		fmt.Println(strings.Join(where, " "))
	}
	show()
	if err := b.SetStatus("http://10.0.0.2", balancer.StatusDisabled, 0); err != nil {
		fmt.Println(err)
		return
	}
	show()
	// Output:
	// alice→http://10.0.0.1 bob→http://10.0.0.3 carol→http://10.0.0.2 dave→http://10.0.0.3
	// alice→http://10.0.0.1 bob→http://10.0.0.3 carol→http://10.0.0.3 dave→http://10.0.0.3
}

// A balancer has its Hash build the ring of a new member list with
// Prepare, with no lock held; the next pick only puts it in use. Used on
// its own, a Hash gives the same answers with Prepare as without.
func ExampleHash_Prepare() {
	members := func() []*lbmethod.Member {
		var ms []*lbmethod.Member
		for _, host := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
			ms = append(ms, lbmethod.NewMember("http://"+host, host, 100))
		}
		return ms
	}
	prepared, _ := lbmethod.NewHash(lbmethod.HashConfig{})
	plain, _ := lbmethod.NewHash(lbmethod.HashConfig{})
	a, b := members(), members() // a Hash keeps state in its members
	// One list (one lbset); nil: the members' current load factors.
	prepared.Prepare([][]*lbmethod.Member{a}, nil)
	same := 0
	for key := range uint64(1000) {
		key *= 0x9e3779b97f4a7c15
		if a[prepared.PickKey(a, key, 1)].Name == b[plain.PickKey(b, key, 1)].Name {
			same++
		}
	}
	fmt.Println(same, "of 1000 keys to the same member")
	// Output:
	// 1000 of 1000 keys to the same member
}
