package balancer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/proxybalancer/balancer"
)

// Behind a load balancer or CDN at 10.0.0.0/8, believe its X-Forwarded-*
// headers and no one else's; with Apache's limits on the request head.
func ExampleConfig_trustedProxies() {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s | %s", r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"))
	}))
	defer member.Close()
	b, err := balancer.New(balancer.Config{
		Name:           "app",
		ServerName:     "gw.example",
		TrustedProxies: []string{"10.0.0.0/8"},
		Members:        []balancer.Member{{URL: member.URL}},
	})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	h := balancer.RequestLimits{}.Wrap(b) // Apache's defaults: 8190, 8190, 100

	for _, peer := range []string{"10.1.2.3:5000", "203.0.113.9:5000"} {
		r := httptest.NewRequest("GET", "http://www.example/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		r.Header.Set("X-Forwarded-Proto", "https")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(peer, "->", w.Body.String())
	}
	r := httptest.NewRequest("GET", "http://www.example/", nil)
	r.Header.Set("X-Big", strings.Repeat("x", 9000))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println("9 KB header field ->", w.Code)
	// Output:
	// 10.1.2.3:5000 -> 198.51.100.7, 10.1.2.3 | https
	// 203.0.113.9:5000 -> 203.0.113.9 | http
	// 9 KB header field -> 400
}
