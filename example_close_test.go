package balancer_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/proxybalancer/balancer"
)

// A reload builds the new balancer, swaps it in, and closes the old one:
// its connections are closed and the requests that still reach it get 503.
func ExampleBalancer_Close() {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer member.Close()

	old, err := balancer.New(balancer.Config{Name: "app", Members: []balancer.Member{{URL: member.URL}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	w := httptest.NewRecorder()
	old.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Code, w.Body.String())

	if err := old.Close(); err != nil {
		fmt.Println(err)
	}
	w = httptest.NewRecorder()
	old.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Code)
	fmt.Println(old.Update(nil))
	// Output:
	// 200 hello
	// 503
	// balancer: closed
}
