package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation/httpapi"
)

// http.limits overrides the defaults key by key, and a cap that cannot
// work is reported with its line.
func TestHTTPLimitsConfig(t *testing.T) {
	base := "modem:\n  device: sim\ngpio:\n  backend: none\n"
	cfg, err := parseConfig("tocsin.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.HTTP.Limits.limits(), httpapi.DefaultLimits(); got != want {
		t.Errorf("no http.limits: %+v, want the defaults %+v", got, want)
	}

	cfg, err = parseConfig("tocsin.yaml", []byte(base+"http:\n  limits: {read_timeout: 5s, max_connections_per_address: 256}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := httpapi.DefaultLimits()
	want.ReadTimeout, want.MaxConnsPerAddr = 5*time.Second, 256
	if got := cfg.HTTP.Limits.limits(); got != want {
		t.Errorf("http.limits: %+v, want %+v", got, want)
	}

	_, err = parseConfig("tocsin.yaml", []byte(base+"http:\n  limits:\n    max_connections: 16\n    max_connections_per_address: 64\n"))
	if err == nil || !strings.Contains(err.Error(), "tocsin.yaml:6: http.limits: max_connections_per_address (64) is above max_connections (16)") {
		t.Errorf("per-address cap above the total: %v", err)
	}
}
