package manager_test

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxybalancer/balancer"
	"github.com/proxybalancer/balancer/manager"
	"github.com/proxybalancer/balancer/transport"
)

// The XML is Apache's, element for element and in its order, so that
// monitoring written for Apache's ?xml=1 keeps working.
func TestManagerXML(t *testing.T) {
	clk := newClock()
	st := newStub("b:8080")
	b := mustNew(t, balancer.Config{
		Name:          "mycluster",
		StickySession: "JSESSIONID|jsessionid",
		Now:           clk.Now,
		Transport:     st,
		Members: []balancer.Member{
			{URL: "http://a", Route: "r<1>", LoadFactor: 2.5},
			{URL: "http://b:8080", Redirect: "r&1", LBSet: 1, Retry: 30 * time.Second, Connection: transport.Options{
				Timeout: 5 * time.Second, ConnectTimeout: 1500 * time.Millisecond, Acquire: 200 * time.Millisecond,
				Max: 10, SMax: 4, TTL: 30 * time.Second, KeepAlive: true, DisableReuse: true,
			}},
		},
	})
	single := mustNew(t, balancer.Config{Name: "solo", Members: members("c"), Transport: newStub()})
	mg, err := manager.New(manager.Config{Hosts: testHosts,
		Balancers: []*balancer.Balancer{b, single},
		Nonces:    map[string]string{"mycluster": "n-1", "solo": "n-2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetStatus("http://b:8080", balancer.StatusError, 0); err != nil { // in error since the clock's now
		t.Fatal(err)
	}
	seq(t, b, 1, nil) // a serves one request
	w := get(t, mg, "/balancer-manager?xml=1")
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/xml" {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
	}
	a := member(t, b, "http://a")
	want := `<?xml version='1.0' encoding='UTF-8' ?>
<httpd:manager xmlns:httpd='http://httpd.apache.org'>
  <httpd:balancers>
    <httpd:balancer>
      <httpd:name>balancer://mycluster</httpd:name>
      <httpd:nonce>n-1</httpd:nonce>
      <httpd:stickysession>JSESSIONID</httpd:stickysession>
      <httpd:nofailover>Off</httpd:nofailover>
      <httpd:timeout>0</httpd:timeout>      <httpd:maxattempts>1</httpd:maxattempts>
      <httpd:lbmethod>byrequests</httpd:lbmethod>
      <httpd:scolonpathdelim>Off</httpd:scolonpathdelim>
      <httpd:workers>
        <httpd:worker>
          <httpd:name>http://a</httpd:name>
          <httpd:scheme>http</httpd:scheme>
          <httpd:hostname>a</httpd:hostname>
          <httpd:loadfactor>2.50</httpd:loadfactor>
          <httpd:port>80</httpd:port>
          <httpd:min>0</httpd:min>
          <httpd:smax>1024</httpd:smax>
          <httpd:max>0</httpd:max>
          <httpd:ttl>0</httpd:ttl>
          <httpd:status>Init Ok </httpd:status>
          <httpd:retries>0</httpd:retries>
          <httpd:lbstatus>` + itoa(a.Load) + `</httpd:lbstatus>
          <httpd:loadfactor>2.50</httpd:loadfactor>
          <httpd:transferred>` + itoa(a.Transferred) + `</httpd:transferred>
          <httpd:read>` + itoa(a.Read) + `</httpd:read>
          <httpd:elected>1</httpd:elected>
          <httpd:route>r&lt;1&gt;</httpd:route>
          <httpd:redirect></httpd:redirect>
          <httpd:busy>0</httpd:busy>
          <httpd:lbset>0</httpd:lbset>
        </httpd:worker>
        <httpd:worker>
          <httpd:name>http://b:8080</httpd:name>
          <httpd:scheme>http</httpd:scheme>
          <httpd:hostname>b</httpd:hostname>
          <httpd:loadfactor>1.00</httpd:loadfactor>
          <httpd:port>8080</httpd:port>
          <httpd:min>0</httpd:min>
          <httpd:smax>4</httpd:smax>
          <httpd:max>10</httpd:max>
          <httpd:ttl>30</httpd:ttl>
          <httpd:timeout>5</httpd:timeout>
          <httpd:acquire>200</httpd:acquire>
          <httpd:keepalive>On</httpd:keepalive>
          <httpd:status>Init Err </httpd:status>
          <httpd:error_time>Fri, 02 Jan 2026 03:04:05 GMT</httpd:error_time>
          <httpd:retries>0</httpd:retries>
          <httpd:lbstatus>0</httpd:lbstatus>
          <httpd:loadfactor>1.00</httpd:loadfactor>
          <httpd:transferred>0</httpd:transferred>
          <httpd:read>0</httpd:read>
          <httpd:elected>0</httpd:elected>
          <httpd:route></httpd:route>
          <httpd:redirect>r&amp;1</httpd:redirect>
          <httpd:busy>0</httpd:busy>
          <httpd:lbset>1</httpd:lbset>
          <httpd:disablereuse>On</httpd:disablereuse>
          <httpd:connectiontimeout>1500</httpd:connectiontimeout>
          <httpd:retry>30</httpd:retry>
        </httpd:worker>
      </httpd:workers>
    </httpd:balancer>
    <httpd:balancer>
      <httpd:name>balancer://solo</httpd:name>
      <httpd:nonce>n-2</httpd:nonce>
      <httpd:timeout>0</httpd:timeout>      <httpd:lbmethod>byrequests</httpd:lbmethod>
      <httpd:workers>
        <httpd:worker>
          <httpd:name>http://c</httpd:name>
          <httpd:scheme>http</httpd:scheme>
          <httpd:hostname>c</httpd:hostname>
          <httpd:loadfactor>1.00</httpd:loadfactor>
          <httpd:port>80</httpd:port>
          <httpd:min>0</httpd:min>
          <httpd:smax>1024</httpd:smax>
          <httpd:max>0</httpd:max>
          <httpd:ttl>0</httpd:ttl>
          <httpd:status>Init Ok </httpd:status>
          <httpd:retries>0</httpd:retries>
          <httpd:lbstatus>0</httpd:lbstatus>
          <httpd:loadfactor>1.00</httpd:loadfactor>
          <httpd:transferred>0</httpd:transferred>
          <httpd:read>0</httpd:read>
          <httpd:elected>0</httpd:elected>
          <httpd:route></httpd:route>
          <httpd:redirect></httpd:redirect>
          <httpd:busy>0</httpd:busy>
          <httpd:lbset>0</httpd:lbset>
        </httpd:worker>
      </httpd:workers>
    </httpd:balancer>
  </httpd:balancers>
</httpd:manager>`
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(w.Body.String(), "\n")); diff != "" {
		t.Errorf("XML (-want +got):\n%s", diff)
	}
	// It is well-formed XML, and the values read back.
	var doc struct {
		Balancers []struct {
			Name    string `xml:"name"`
			Workers []struct {
				Name  string `xml:"name"`
				Route string `xml:"route"`
			} `xml:"workers>worker"`
		} `xml:"balancers>balancer"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Balancers) != 2 || doc.Balancers[0].Workers[0].Route != "r<1>" {
		t.Errorf("parsed: %+v", doc)
	}
}

// A balancer timeout shows in whole seconds, maxattempts=0 as 0, and
// a read-only balancer's nonce as empty.
func TestManagerXMLSettings(t *testing.T) {
	b := mustNew(t, balancer.Config{Name: "x", Members: members("a"), Transport: newStub(), MaxAttempts: -1, Timeout: 2500 * time.Millisecond})
	mg, err := manager.New(manager.Config{Hosts: testHosts, Balancers: []*balancer.Balancer{b}, Nonces: map[string]string{"x": ""}})
	if err != nil {
		t.Fatal(err)
	}
	body := get(t, mg, "/?xml=1").Body.String()
	for _, want := range []string{"<httpd:nonce></httpd:nonce>", "<httpd:timeout>2</httpd:timeout>      <httpd:maxattempts>0</httpd:maxattempts>"} {
		if !strings.Contains(body, want) {
			t.Errorf("XML lacks %q:\n%s", want, body)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
