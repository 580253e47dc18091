package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// The quickstart serves, balances, sticks, and stops when its context ends.
func TestQuickstart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	var out strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, l, &out) }()
	client := &http.Client{}
	get := func(path, cookie string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := client.Do(req) // the listener is open: the request waits in its backlog
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b), res.Header.Get("Set-Cookie")
	}
	first, cookie := get("/hello", "")
	second, _ := get("/hello", "")
	if !strings.HasPrefix(first, "node1 served GET /hello") || !strings.HasPrefix(second, "node2") {
		t.Errorf("round robin: %q then %q", first, second)
	}
	if cookie != "ROUTEID=.node1; Path=/" {
		t.Errorf("Set-Cookie %q", cookie)
	}
	for range 3 {
		if body, c := get("/x", "ROUTEID=.node2"); !strings.HasPrefix(body, "node2") || c != "" {
			t.Errorf("sticky: %q, cookie %q", body, c)
		}
	}
	if body, _ := get("/x?ROUTEID=.node3", ""); !strings.HasPrefix(body, "node3") {
		t.Errorf("standby session: %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(out.String(), "curl -i http://"+addr+"/hello") {
		t.Errorf("printed:\n%s", out.String())
	}
}
