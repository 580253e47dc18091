package balancer_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/transport"
)

// bearer is a RoundTripper that adds a member's credentials to every
// attempt and counts the attempts, around the member's own transport.
type bearer struct {
	token    string
	next     http.RoundTripper
	attempts *atomic.Int64
}

func (a bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	a.attempts.Add(1)
	out := req.Clone(req.Context()) // a RoundTripper must not change req
	out.Header.Set("Authorization", "Bearer "+a.token)
	return a.next.RoundTrip(out) // errors unchanged: failover still sees them
}

// Config.WrapTransport puts a RoundTripper of yours (authentication,
// tracing, metrics) around each member's tuned transport, which keeps its
// Member.Connection settings: here a cap of 8 requests in flight and a
// 30 s idle-connection TTL.
func ExampleConfig_wrapTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "member got %q", r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	tokens := map[string]string{srv.URL: "s3cret"} // by normalised member URL
	var attempts atomic.Int64

	b, err := balancer.New(balancer.Config{
		Name: "api",
		Members: []balancer.Member{
			{URL: srv.URL, Connection: transport.Options{Max: 8, TTL: 30 * time.Second}},
		},
		WrapTransport: func(member string, rt http.RoundTripper) http.RoundTripper {
			return bearer{token: tokens[member], next: rt, attempts: &attempts}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(exampleGet(b, "/", ""))
	fmt.Println(exampleGet(b, "/", ""))
	fmt.Println("attempts:", attempts.Load())
	// Output:
	// 200 member got "Bearer s3cret"
	// 200 member got "Bearer s3cret"
	// attempts: 2
}
