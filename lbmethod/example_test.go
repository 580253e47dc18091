package lbmethod_test

import (
	"fmt"

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
