package demo

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

func TestServeAndBackends(t *testing.T) {
	bs := Backends("one")
	defer bs[0].Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := http.Get(bs[0].URL + r.URL.Path)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			io.Copy(w, res.Body)
		}))
	}()
	res, err := http.Get("http://" + l.Addr().String() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "one got /x\n" {
		t.Errorf("body %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
