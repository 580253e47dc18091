package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DNS rebinding, end to end against the example: a page of
// attacker.example whose name was rebound to 127.0.0.1 is "same-origin"
// for the browser, and its requests come from a loopback client, so the
// network guard lets them in. They name the attacker's host, though, and
// the manager answers only for loopback addresses and localhost: the page
// can neither read the nonce nor post a change, even with the right nonce.
// The same requests naming the manager's own host work.
func TestManagerExampleDNSRebinding(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	base := "http://" + l.Addr().String()
	o := options{allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, l, o, io.Discard) }()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() { stop() })

	// send makes a request to the loopback listener, naming host in the
	// Host header, as a browser does for the page's own name.
	send := func(method, host, target string, body url.Values, header ...string) (int, string) {
		t.Helper()
		var r io.Reader
		if body != nil {
			r = strings.NewReader(body.Encode())
		}
		req, err := http.NewRequest(method, base+target, r)
		require.NoError(t, err)
		req.Host = host
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	type doc struct {
		Balancers []struct {
			Nonce   string
			Members []struct{ URL, Flags string }
		}
	}
	read := func(host string) doc {
		t.Helper()
		code, body := send("GET", host, "/balancer-manager?json", nil)
		require.Equal(t, http.StatusOK, code, body)
		var d doc
		require.NoError(t, json.Unmarshal([]byte(body), &d), body)
		require.Len(t, d.Balancers, 1)
		return d
	}
	own := l.Addr().String()
	legit := read(own)
	nonce, node1 := legit.Balancers[0].Nonce, legit.Balancers[0].Members[0].URL
	require.NotEmpty(t, nonce)

	attacker := "attacker.example:" + itoa(port)
	attackerOrigin := "http://" + attacker
	browser := []string{"Origin", attackerOrigin, "Sec-Fetch-Site", "same-origin"}

	// 1. The rebound page reads the manager: refused, no nonce in sight.
	for _, target := range []string{"/balancer-manager", "/balancer-manager?json", "/balancer-manager?xml=1"} {
		code, body := send("GET", attacker, target, nil, browser...)
		assert.Equal(t, http.StatusForbidden, code, "GET %s for %s", target, attacker)
		assert.NotContains(t, body, nonce)
	}
	// 2. It posts a change, even with the right nonce: refused.
	change := url.Values{"b": {"app"}, "nonce": {nonce}, "w": {node1}, "w_status_D": {"1"}}
	code, body := send("POST", attacker, "/balancer-manager", change, browser...)
	assert.Equal(t, http.StatusForbidden, code, body)
	assert.Contains(t, body, `Host "`+attacker+`"`)
	// Other names a rebinding attack might use.
	for _, host := range []string{"attacker.example", "127.0.0.1.attacker.example:" + itoa(port), "localhost.attacker.example"} {
		code, _ := send("POST", host, "/balancer-manager", change, "Origin", "http://"+host, "Sec-Fetch-Site", "same-origin")
		assert.Equal(t, http.StatusForbidden, code, "POST for %s", host)
	}
	assert.Equal(t, "", read(own).Balancers[0].Members[0].Flags, "node1 unchanged")

	// 3. An Origin of the right host but another scheme: refused.
	code, body = send("POST", own, "/balancer-manager", change, "Origin", "https://"+own)
	assert.Equal(t, http.StatusForbidden, code, body)
	assert.Equal(t, "", read(own).Balancers[0].Members[0].Flags, "node1 unchanged")

	// 4. The manager's own page, by address and by localhost: works.
	code, body = send("POST", own, "/balancer-manager", change, "Origin", "http://"+own, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "D", read(own).Balancers[0].Members[0].Flags, "node1 disabled")
	local := "localhost:" + itoa(port)
	change.Set("w_status_D", "0")
	code, body = send("POST", local, "/balancer-manager", change, "Origin", "http://"+local, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "", read(local).Balancers[0].Members[0].Flags, "node1 enabled again")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
