package transport

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSendBody(t *testing.T) {
	t.Run("detach before any read hands the body back", func(t *testing.T) {
		tb := newTrackBody(strings.NewReader("abc"))
		b := &sendBody{rc: tb}
		b.Close() // net/http closing early
		if !b.detach() {
			t.Fatal("detach() = false for an unread body")
		}
		if _, err := b.Read(make([]byte, 1)); !errors.Is(err, errBodyDetached) {
			t.Errorf("Read after detach: %v, want errBodyDetached", err)
		}
		b.Close()
		b.release()
		tb.untouched(t)
	})
	t.Run("detach after a read refuses", func(t *testing.T) {
		tb := newTrackBody(strings.NewReader("abc"))
		b := &sendBody{rc: tb}
		b.Read(make([]byte, 1))
		if b.detach() {
			t.Fatal("detach() = true after a Read")
		}
		rest, _ := io.ReadAll(b)
		if string(rest) != "bc" {
			t.Errorf("read %q after refused detach, want %q", rest, "bc")
		}
	})
	t.Run("close before release is deferred", func(t *testing.T) {
		tb := newTrackBody(strings.NewReader("abc"))
		b := &sendBody{rc: tb}
		b.Close()
		if tb.isClosed() {
			t.Fatal("Close went through before release")
		}
		b.release()
		if !tb.isClosed() {
			t.Fatal("release did not perform the earlier Close")
		}
	})
	t.Run("close after release goes through once", func(t *testing.T) {
		tb := newTrackBody(strings.NewReader("abc"))
		b := &sendBody{rc: tb}
		b.release()
		if tb.isClosed() {
			t.Fatal("release closed a body nobody closed")
		}
		b.Close()
		b.Close()
		if !tb.isClosed() {
			t.Fatal("Close after release did not close")
		}
	})
	t.Run("no body", func(t *testing.T) {
		var b sendBody
		if !b.detach() {
			t.Error("detach() = false without a body")
		}
		b.release()
	})
}

func TestErrors(t *testing.T) {
	acquire := &NotSentError{Reason: ReasonAcquire, Err: ErrAcquireTimeout}
	tests := []struct {
		name        string
		err         error
		wantNotSent bool
		wantTimeout bool
		wantMsg     string
	}{
		{"nil", nil, false, false, ""},
		{"plain", errors.New("x"), false, false, "x"},
		{"not sent", acquire, true, false, "transport: request not sent (acquire): acquire timeout"},
		{"wrapped not sent", errors.Join(errors.New("balancer: member a"), acquire), true, false,
			"balancer: member a\ntransport: request not sent (acquire): acquire timeout"},
		{"timeout", ErrTimeout, false, true, "transport: timeout"},
		{"nil Err", &NotSentError{Reason: ReasonConnect}, true, false, "transport: request not sent (connect): <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NotSent(tt.err); got != tt.wantNotSent {
				t.Errorf("NotSent = %v, want %v", got, tt.wantNotSent)
			}
			if got := IsTimeout(tt.err); got != tt.wantTimeout {
				t.Errorf("IsTimeout = %v, want %v", got, tt.wantTimeout)
			}
			if tt.err != nil && tt.err.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", tt.err.Error(), tt.wantMsg)
			}
		})
	}
	if !errors.Is(acquire, ErrAcquireTimeout) {
		t.Error("NotSentError does not unwrap to its Err")
	}
}

func TestReasonString(t *testing.T) {
	want := map[Reason]string{
		ReasonConnect: "connect", ReasonResolve: "resolve", ReasonTLS: "tls",
		ReasonAcquire: "acquire", ReasonPing: "ping", 0: "Reason(0)", 42: "Reason(42)",
	}
	for r, s := range want {
		if got := r.String(); got != s {
			t.Errorf("Reason(%d).String() = %q, want %q", uint8(r), got, s)
		}
	}
}
