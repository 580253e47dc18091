package httpdconf_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/proxybalancer/balancer/httpdconf"
)

// What the loader cannot enforce is refused, naming the file, the line and
// the reason; nothing is left open with a warning.
func TestAccessRefused(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"Require all granted", "test.conf:1: Require: not allowed here"},
		{"<Location /m>\nRequire user bob\n</Location>", "test.conf:2: Require: Require user: cannot be enforced"},
		{"<Location /m>\nRequire env X\n</Location>", "test.conf:2: Require: Require env: cannot be enforced"},
		{"<Location /m>\nRequire not ip 10.0.0.1\n</Location>", "test.conf:2: Require: negative Require directive has no effect in <RequireAny>"},
		{"<Location /m>\n<RequireAll>\nRequire not ip 10.0.0.1\n</RequireAll>\n</Location>", "test.conf:2: <RequireAll>: directive contains only negative"},
		{"<Location /m>\n<RequireAny>\n</RequireAny>\n</Location>", "test.conf:2: <RequireAny>: directive contains no authorization directives"},
		{"<Location /m>\n<RequireNone>\nRequire ip 10.0.0.1\n</RequireNone>\n</Location>", "test.conf:2: <RequireNone>: negative Require directive has no effect in <RequireAny>"},
		{"<Location /m>\nRequire ip 10.0.0.300\n</Location>", "test.conf:2: Require: Require ip 10.0.0.300"},
		{"<Location /m>\nAllow from env=GOOD\n</Location>", "test.conf:2: Allow: env=GOOD: cannot be enforced"},
		{"<Location /m>\nOrder deny, allow\n</Location>", "test.conf:2: Order: takes one argument"},
		{"<Location /m>\nSatisfy some\n</Location>", "test.conf:2: Satisfy"},
		{"<Location /m>\n<Limit POST>\nRequire all denied\n</Limit>\n</Location>", "test.conf:2: <Limit>: section with access rules cannot be enforced"},
		{"<LocationMatch ^/m>\nRequire all denied\n</LocationMatch>", "test.conf:1: <LocationMatch>: section with access rules cannot be enforced"},
		{"<Location ~ ^/m>\nRequire all denied\n</Location>", "test.conf:1: <Location>: regular-expression location with access rules cannot be enforced"},
		{"<Location /m*>\nRequire all denied\n</Location>", "test.conf:1: <Location>: /m*: wildcard"},
		{"<Proxy http://backend/>\nRequire all denied\n</Proxy>", "test.conf:1: <Proxy>: http://backend/: access rules of <Proxy> sections are enforced only for balancer:// and *"},
		{"RemoteIPHeader X-Forwarded-For", "test.conf:1: RemoteIPHeader: cannot be enforced"},
		{"<Location /m>\nAuthType Basic\n</Location>", "test.conf:2: AuthType: cannot be enforced"},
		{"AuthMerging And", "test.conf:1: AuthMerging: AuthMerging And cannot be enforced"},
		{"<Directory /var/www>\nRequire all denied\n</Directory>\n<Location /bm>\nSetHandler balancer-manager\n</Location>", "test.conf:1: a <Directory> or <Files> section has access rules"},
		{"<Directory /var/www>\nRequire all denied\n</Directory>\n<Location /bm>\nSetHandler balancer-manager\nRequire ip 10.0.0.1\n</Location>", "test.conf:1: a <Directory> or <Files> section has access rules"},
		{"<VirtualHost www.example.com:80>\n</VirtualHost>", "test.conf:1: <VirtualHost>: address \"www.example.com:80\": not an IP address"},
		{"ProxyPassMatch ^/(?=x) http://h/", "test.conf:1: ProxyPassMatch: ^/(?=x):"},
		{"ProxyPass / balancer://b/ stickysession=s routeregex=[\nBalancerMember balancer://b http://h", "test.conf:1: balancer://b routeregex=[:"},
		{"ProxyPass / balancer://b/ routeregex=(.*)\nBalancerMember balancer://b http://h", "test.conf:1: balancer://b routeregex=(.*): needs stickysession"},
		{"BalancerPersist On", "test.conf:1: BalancerPersist: On needs a state file"},
	} {
		_, err := httpdconf.LoadReader("test.conf", strings.NewReader(c.src), httpdconf.Options{})
		if assert.Error(t, err, c.src) {
			assert.Contains(t, err.Error(), c.want, c.src)
		}
	}
}

// A manager <Location> that replaces both kinds of rules does not depend
// on <Directory> sections.
func TestManagerOverDirectory(t *testing.T) {
	src := "<Directory /var/www>\nRequire all granted\n</Directory>\n<Location /bm>\nSetHandler balancer-manager\nRequire ip 10.0.0.1\nOrder deny,allow\n</Location>\nBalancerMember balancer://b http://h"
	_, err := httpdconf.LoadReader("test.conf", strings.NewReader(src), httpdconf.Options{})
	assert.NoError(t, err)
}

// Virtual hosts pick their own mounts and access rules; the main
// server's mounts come first in every host (checked against Apache in
// apache_site_test.go).
func TestVirtualHosts(t *testing.T) {
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("a " + r.URL.Path)) }))
	defer a.Close()
	src := `ProxyPass /main ` + a.URL + `/main
<VirtualHost *:80>
  ServerName one.test
  ProxyPass /main ` + a.URL + `/never
  ProxyPass /p ` + a.URL + `/one
</VirtualHost>
<VirtualHost *:80>
  ServerName two.test
  ServerAlias *.two.test
  ProxyPass /p ` + a.URL + `/two
  <Location /p/private>
    Require ip 10.0.0.0/8
  </Location>
</VirtualHost>`
	l, err := httpdconf.LoadReader("test.conf", strings.NewReader(src), httpdconf.Options{VirtualHostPort: 80})
	require.NoError(t, err)
	for _, c := range []struct{ host, path, remote, want string }{
		{"one.test", "/p/x", "192.0.2.1:1", "200 a /one/x"},
		{"ONE.test:80", "/main", "192.0.2.1:1", "200 a /main"},
		{"x.two.test", "/p/x", "192.0.2.1:1", "200 a /two/x"},
		{"unknown.test", "/p/x", "192.0.2.1:1", "200 a /one/x"}, // the first host is the default
		{"two.test", "/p/private/x", "192.0.2.1:1", "403"},
		{"two.test", "/p/private/x", "10.1.2.3:1", "200 a /two/private/x"},
		{"one.test", "/p/private/x", "192.0.2.1:1", "200 a /one/private/x"},
	} {
		req := httptest.NewRequest("GET", "http://"+c.host+c.path, nil)
		req.RemoteAddr = c.remote
		rec := httptest.NewRecorder()
		l.Handler.ServeHTTP(rec, req)
		got := strconv.Itoa(rec.Code)
		if rec.Code == http.StatusOK {
			got += " " + rec.Body.String()
		}
		assert.Equal(t, c.want, got, "%s %s from %s", c.host, c.path, c.remote)
	}
}
