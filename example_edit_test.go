package balancer_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/proxybalancer/balancer"
)

// Disable one member and add another in one atomic change, as an
// automation script or an admin page would.
func ExampleBalancer_Apply() {
	b, err := balancer.New(balancer.Config{
		Name: "shop",
		Members: []balancer.Member{
			{URL: "http://10.0.0.1:8080", Route: "node1"},
			{URL: "http://10.0.0.2:8080", Route: "node2"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	lf := 2.0
	err = b.Apply(balancer.Change{
		Source:  "deploy script",
		Members: []balancer.MemberChange{{URL: "http://10.0.0.1:8080", Set: "D"}},
		Add:     []balancer.MemberChange{{URL: "http://10.0.0.3:8080", LoadFactor: &lf}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range b.State().Members {
		fmt.Printf("%s lf=%v flags=%q\n", m.URL, m.LoadFactor, m.Flags)
	}

	// A bad value changes nothing and is named in the error.
	bad := 0.5
	err = b.Apply(balancer.Change{Members: []balancer.MemberChange{{URL: "http://10.0.0.2:8080", LoadFactor: &bad, Set: "D"}}})
	fmt.Println(err)
	// Output:
	// http://10.0.0.1:8080 lf=1 flags="D"
	// http://10.0.0.2:8080 lf=1 flags=""
	// http://10.0.0.3:8080 lf=2 flags=""
	// balancer: change: members[0].loadFactor "0.5": out of range 1..100
}

// Hook persistence, an audit log or a fleet sync to every applied change.
func ExampleBalancer_OnChange() {
	b, err := balancer.New(balancer.Config{
		Name:    "shop",
		Members: []balancer.Member{{URL: "http://10.0.0.1:8080"}, {URL: "http://10.0.0.2:8080"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	stop := b.OnChange(func(ev balancer.ChangeEvent) {
		// Called after the change, with no lock held.
		doc, _ := json.Marshal(ev.Change.Members)
		fmt.Printf("%s #%d by %s (%s): %s\n", ev.Balancer, ev.Seq, ev.Change.Who, ev.Change.Source, doc)
	})
	defer stop()
	err = b.Apply(balancer.Change{
		Source: "manager", Who: "alice",
		Members: []balancer.MemberChange{{URL: "HTTP://10.0.0.2:8080", Set: "N"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// balancer://shop #1 by alice (manager): [{"url":"HTTP://10.0.0.2:8080","set":"N"}]
}

// Bring a gateway's balancer to a state published elsewhere (a fleet
// sync), whatever members it has now.
func ExampleState_ChangeTo() {
	b, err := balancer.New(balancer.Config{
		Name:    "shop",
		Members: []balancer.Member{{URL: "http://10.0.0.1:8080"}, {URL: "http://10.0.0.2:8080"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	var published balancer.State // as another gateway's State() encoded it
	doc := `{"balancer": "balancer://shop", "method": "bybusyness", "members": [
		{"url": "http://10.0.0.2:8080", "loadFactor": 2, "flags": "N", "healthCheck": {"method": "NONE", "interval": 30000000000, "passes": 1, "fails": 1}},
		{"url": "http://10.0.0.3:8080", "loadFactor": 1, "flags": "", "healthCheck": {"method": "NONE", "interval": 30000000000, "passes": 1, "fails": 1}}]}`
	if err := json.Unmarshal([]byte(doc), &published); err != nil {
		log.Fatal(err)
	}
	c := b.State().ChangeTo(published)
	c.Source, c.Version = "fleet", 42
	if err := b.Apply(c); err != nil {
		log.Fatal(err)
	}
	st := b.State()
	fmt.Println(st.Method)
	for _, m := range st.Members {
		fmt.Printf("%s lf=%v flags=%q\n", m.URL, m.LoadFactor, m.Flags)
	}
	// Output:
	// bybusyness
	// http://10.0.0.2:8080 lf=2 flags="N"
	// http://10.0.0.3:8080 lf=1 flags=""
}
