package httpdconf_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/httpdconf"
)

// ProxyPreserveHost On reaches every balancer and worker; LimitRequest*
// become Config.Limits, which the loaded Handler applies before routing.
func TestLoadForwarding(t *testing.T) {
	hosts := make(chan string, 4)
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hosts <- r.Host }))
	t.Cleanup(member.Close)
	src := `ServerName https://gw.example:443
ProxyPreserveHost On
LimitRequestFieldSize 100
LimitRequestFields 0
<Proxy balancer://c>
BalancerMember ` + member.URL + `
</Proxy>
ProxyPass /w ` + member.URL + `/
ProxyPass / balancer://c/
`
	l, err := httpdconf.LoadReader("test.conf", strings.NewReader(src), httpdconf.Options{})
	require.NoError(t, err)
	assert.True(t, l.Config.Balancers[0].Config.PreserveHost)
	assert.True(t, l.Config.Workers[0].Config.PreserveHost)
	assert.Equal(t, "gw.example", l.Config.Balancers[0].Config.ServerName)
	assert.Equal(t, balancer.RequestLimits{FieldSize: 100, Fields: -1}, l.Config.Limits)

	for _, path := range []string{"/x", "/w/x"} {
		w := httptest.NewRecorder()
		l.Handler.ServeHTTP(w, httptest.NewRequest("GET", "http://front.example"+path, nil))
		require.Equal(t, http.StatusOK, w.Code, path)
		assert.Equal(t, "front.example", <-hosts, path)
	}
	// A field over 100 bytes (+1, as Apache) is Apache's 400, before routing.
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("X-Big", strings.Repeat("b", 100))
	w := httptest.NewRecorder()
	l.Handler.ServeHTTP(w, r)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	// 200 fields are allowed (LimitRequestFields 0).
	r = httptest.NewRequest("GET", "/x", nil)
	for i := range 200 {
		r.Header.Add("X-F", strings.Repeat("f", i%10))
	}
	w = httptest.NewRecorder()
	l.Handler.ServeHTTP(w, r)
	assert.Equal(t, http.StatusOK, w.Code)
	<-hosts

	// Without directives: Apache's defaults (a request line over 8191
	// bytes is 414); ProxyPreserveHost Off.
	l, err = httpdconf.LoadReader("test.conf", strings.NewReader("ProxyPass / "+member.URL+"/\nLimitRequestLine 0\n"), httpdconf.Options{})
	require.NoError(t, err)
	assert.False(t, l.Config.Workers[0].Config.PreserveHost)
	w = httptest.NewRecorder()
	l.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	assert.Equal(t, http.StatusRequestURITooLong, w.Code, "LimitRequestLine 0 refuses every request, as Apache")

	l, err = httpdconf.LoadReader("test.conf", strings.NewReader("ProxyPass / "+member.URL+"/\n"), httpdconf.Options{})
	require.NoError(t, err)
	w = httptest.NewRecorder()
	l.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/"+strings.Repeat("a", 8200), nil))
	assert.Equal(t, http.StatusRequestURITooLong, w.Code)

	_, err = httpdconf.LoadReader("test.conf", strings.NewReader("LimitRequestFields -1\n"), httpdconf.Options{})
	assert.ErrorContains(t, err, "LimitRequestFields")
	_, err = httpdconf.LoadReader("test.conf", strings.NewReader("ProxyPreserveHost maybe\n"), httpdconf.Options{})
	assert.ErrorContains(t, err, "ProxyPreserveHost")
}
