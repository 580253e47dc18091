package balancer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/proxybalancer/balancer"
)

// Passive outlier detection: a member answering 500 three times in a row
// is ejected; later requests go to the others until its ejection ends.
func ExampleOutlierDetection() {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer bad.Close()
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer good.Close()
	b, err := balancer.New(balancer.Config{
		Name:    "shop",
		Members: []balancer.Member{{URL: bad.URL}, {URL: good.URL}},
		Outlier: &balancer.OutlierDetection{Consecutive5xx: 3, BaseEjectionTime: time.Minute, MaxEjectionPercent: 50},
	})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	var codes []string
	for range 10 {
		w := httptest.NewRecorder()
		b.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		codes = append(codes, fmt.Sprint(w.Code))
	}
	fmt.Println(strings.Join(codes, " "))
	m := b.Members()[0]
	fmt.Println(m.Status, m.Ejections, !m.EjectedUntil.IsZero())
	// Output:
	// 500 200 500 200 500 200 200 200 200 200
	// Init Ejct 1 true
}

// A per-try timeout: the first member does not answer in time, so the
// request goes to the second as well; the client gets the second's answer
// and the first attempt is canceled.
func ExampleConfig_perTryTimeout() {
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers only when the balancer gives up on it
	}))
	defer stuck.Close()
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "quick")
	}))
	defer quick.Close()
	b, err := balancer.New(balancer.Config{
		Name:          "shop",
		Members:       []balancer.Member{{URL: stuck.URL}, {URL: quick.URL}},
		PerTryTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 quick
}

// Panic mode: with three of four members in error state, fewer than half
// are usable, so requests spread over all four instead of overloading the
// one left.
func ExampleConfig_panicThreshold() {
	var srvs []*httptest.Server
	var ms []balancer.Member
	for _, name := range []string{"a", "b", "c", "d"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) }))
		defer srv.Close()
		srvs = append(srvs, srv)
		ms = append(ms, balancer.Member{URL: srv.URL})
	}
	b, err := balancer.New(balancer.Config{Name: "shop", Members: ms, PanicThreshold: 0.5})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	for _, srv := range srvs[:3] {
		if err := b.SetStatus(srv.URL, balancer.StatusError, 0); err != nil {
			panic(err)
		}
	}
	var got []string
	for range 4 {
		w := httptest.NewRecorder()
		b.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		got = append(got, w.Body.String())
	}
	fmt.Println(strings.Join(got, " "))
	// Output:
	// a b c d
}
