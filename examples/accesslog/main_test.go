package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAccessLog(t *testing.T) {
	var urls []string
	for range 2 {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
		t.Cleanup(s.Close)
		urls = append(urls, s.URL)
	}
	b, err := newBalancer(urls...)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	h := AccessLog(&out, b)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/first", nil))
	r := httptest.NewRequest("GET", "/again", nil)
	r.Header.Set("Cookie", "ROUTEID=.node2")
	h.ServeHTTP(httptest.NewRecorder(), r)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`192.0.2.1 "GET /first HTTP/1.1" 200 route=node1 changed=1 session=- worker=` + strings.ToLower(urls[0]),
		`192.0.2.1 "GET /again HTTP/1.1" 200 route=node2 changed=- session=node2 worker=` + strings.ToLower(urls[1]),
	}
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Errorf("log:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
	}
}
