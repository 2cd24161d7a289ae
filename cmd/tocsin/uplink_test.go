package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// The probes against real servers on loopback.
func TestUplinkProbes(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	ctx := context.Background()
	probe := httpProbe(srv.URL+"/-/healthy", srv.Client())
	if err := probe(ctx); err != nil {
		t.Errorf("HTTP 200: %v, want up", err)
	}
	status.Store(http.StatusServiceUnavailable)
	if err := probe(ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("HTTP 503: %v, want an error naming the status", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := tcpProbe(addr)(ctx); err != nil {
		t.Errorf("TCP to a listener: %v, want up", err)
	}
	ln.Close()
	if err := tcpProbe(addr)(ctx); err == nil {
		t.Error("TCP to a closed port: nil, want an error")
	}
	srv.Close()
	if err := probe(ctx); err == nil {
		t.Error("HTTP to a closed server: nil, want an error")
	}
}

func TestUplinkConfigErrors(t *testing.T) {
	base := "modem: {device: sim}\n"
	tests := []struct{ uplink, want string }{
		{"uplink: {service: s}", "give exactly one of url"},
		{"uplink: {url: http://a, host: b:1, service: s}", "give exactly one of url"},
		{"uplink: {url: ftp://a, service: s}", `uplink.url "ftp://a"`},
		{"uplink: {host: router.lan, service: s}", `uplink.host "router.lan": want host:port`},
		{"uplink: {url: http://a}", "uplink.service is required"},
		{"uplink: {url: http://a, service: s, interval: 1ms}", "uplink.interval 1ms: too short"},
		{"uplink: {url: http://a, service: s, colour: red}", `unknown key "colour" in uplink (known: `},
	}
	for _, tt := range tests {
		_, err := parseConfig("tocsin.yaml", []byte(base+tt.uplink+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "tocsin.yaml:2") {
			t.Errorf("%s: error %v, want tocsin.yaml:2 and %q", tt.uplink, err, tt.want)
		}
	}
	c, err := parseConfig("tocsin.yaml", []byte(base+"uplink: {host: \"8.8.8.8:53\", service: s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Uplink.Tries != 3 || time.Duration(c.Uplink.Interval) != time.Minute {
		t.Errorf("defaults: tries %d interval %s, want 3 and 1m", c.Uplink.Tries, time.Duration(c.Uplink.Interval))
	}
}

// The daemon pages when its monitoring server stops answering and
// resolves when it is back.
func TestUplinkThroughTheDaemon(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	mon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer mon.Close()
	e := newE2EWith(t, testPolicy("1h"), fmt.Sprintf("uplink: {url: %q, interval: 200ms, tries: 2, service: press-line-1}", mon.URL+"/-/healthy"))
	e.start()
	status.Store(http.StatusBadGateway)
	page := e.nextSMS()
	if !strings.Contains(page.Text, "Internet/monitoring unreachable: "+mon.URL) {
		t.Fatalf("page = %q, want the uplink outage", page.Text)
	}
	var incs []escalation.Incident
	e.api("GET", "/api/v1/incidents?status=open", nil, &incs)
	if len(incs) != 1 || incs[0].DedupKey != escalation.UplinkDedupKey(mon.URL+"/-/healthy") {
		t.Fatalf("open incidents = %+v, want the uplink's", incs)
	}
	status.Store(http.StatusOK)
	e.waitLog(0, `msg="uplink back"`)
	if inc := e.incident(incs[0].ID); inc.Status != escalation.Resolved {
		t.Errorf("after recovery the incident is %s, want resolved", inc.Status)
	}
}

// FuzzUplinkConfig: any uplink section is either rejected with an error or
// accepted with the invariants the check relies on.
func FuzzUplinkConfig(f *testing.F) {
	for _, s := range []string{
		`{url: "https://monitoring.lan/-/healthy", interval: 1m, tries: 3, service: tocsin}`,
		`{host: "8.8.8.8:53", service: tocsin}`,
		`{host: "[::1]:80", service: s, timeout: 2s}`,
		`{url: http://a, host: b:1, service: s}`,
		`{url: "", service: s, tries: -1}`,
		`{url: http://a, service: s, interval: 3d}`,
		`[1, 2]`,
		`{url: {a: b}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uplink string) {
		c, err := parseConfig("tocsin.yaml", []byte("modem: {device: sim}\nuplink: "+uplink+"\n"))
		if err != nil || c.Uplink == nil {
			return
		}
		u := c.Uplink
		if (u.URL == "") == (u.Host == "") || u.Service == "" || u.Tries < 1 || time.Duration(u.Interval) < 100*time.Millisecond {
			t.Fatalf("accepted an uplink the check cannot run: %+v", u)
		}
		if u.probe() == nil || u.target() == "" {
			t.Fatalf("no probe or target for %+v", u)
		}
	})
}
