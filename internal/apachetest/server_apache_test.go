//go:build apache

package apachetest

import (
	"net"
	"strings"
	"testing"
)

// A real httpd starts, answers on its loopback address, uses the caller's
// directives and the defined address, and is gone after Stop.
func TestApacheHarness(t *testing.T) {
	s := Start(t, Config{Directives: `
ErrorDocument 404 "nothing at ${APACHETEST_ADDR}"
Header always set X-Test "on"
`})
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || s.URL != "http://"+s.Addr {
		t.Fatalf("address %q URL %q", s.Addr, s.URL)
	}
	res, body, err := s.Send([]byte("GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 404 || res.Header.Get("X-Test") != "on" {
		t.Errorf("GET /nothing: %d, X-Test %q; want 404 with the header", res.StatusCode, res.Header.Get("X-Test"))
	}
	if want := "nothing at " + s.Addr; string(body) != want {
		t.Errorf("body %q, want %q", body, want)
	}
	if s.Exited() {
		t.Fatal("httpd exited while serving")
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !s.Exited() {
		t.Fatal("httpd still running after Stop")
	}
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", s.Addr)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// A configuration httpd refuses fails Start with httpd's message.
func TestApacheHarnessBadConfig(t *testing.T) {
	f := &fatalTB{TB: t}
	done := make(chan *Server)
	go func() {
		defer close(done)
		done <- Start(f, Config{Directives: "NoSuchDirective on\n"})
	}()
	if s := <-done; s != nil {
		t.Fatal("Start accepted a bad configuration")
	}
	if !strings.Contains(f.msg, "NoSuchDirective") {
		t.Errorf("message %q does not quote httpd's complaint", f.msg)
	}
}
