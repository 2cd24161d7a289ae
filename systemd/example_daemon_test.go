package systemd_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getJSON GETs path from the daemon's API with the staged token.
func (d *daemon) getJSON(path string, v any) {
	d.t.Helper()
	req, err := http.NewRequestWithContext(d.t.Context(), "GET", d.url+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
}

// eventually polls cond every 100ms until it holds, failing the test
// after within. The daemon is a separate process on the wall clock, so
// there is no fake time to wait on.
func (d *daemon) eventually(within time.Duration, what string, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			d.t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPackagedExampleDaemonNotConfigured runs bin/tocsin on the config and
// policy the package installs (modem and GPIO switched to the simulators,
// paths to a temporary directory), raises an alarm and lets it escalate:
// the simulated phones receive nothing, and /api/v1/status and the status
// light say plainly that nobody can be paged.
func TestPackagedExampleDaemonNotConfigured(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	d.await(30*time.Second, "READY=1")
	d.alert("Hydraulic pressure low")

	var incs []struct {
		ID    int64 `json:"id"`
		Level int   `json:"level"`
	}
	d.eventually(30*time.Second, "the alarm escalates to its first level", func() bool {
		d.getJSON("/api/v1/incidents", &incs)
		return len(incs) == 1 && incs[0].Level >= 1
	})

	var status struct {
		Configured bool   `json:"configured"`
		Reason     string `json:"not_configured_reason"`
		ReasonJA   string `json:"not_configured_reason_ja"`
		GPIO       struct {
			Outputs []struct {
				ID   string `json:"id"`
				Kind string `json:"kind"`
				Mode string `json:"mode"`
			} `json:"outputs"`
		} `json:"gpio"`
	}
	statusLight := func() string {
		for _, o := range status.GPIO.Outputs {
			if o.Kind == "status" {
				return o.Mode
			}
		}
		return "(no status output in the example config)"
	}
	d.eventually(10*time.Second, "the status light shows not configured", func() bool {
		d.getJSON("/api/v1/status", &status)
		return strings.Contains(statusLight(), "not configured")
	})
	if status.Configured || !strings.HasPrefix(status.Reason, "not configured: no contact can be paged") ||
		!strings.HasPrefix(status.ReasonJA, "未設定: 呼び出せる連絡先がありません") {
		t.Errorf("status configured=%v reason %q / %q, want not configured in plain words", status.Configured, status.Reason, status.ReasonJA)
	}
	t.Logf("status: %s; status light: %s", status.Reason, statusLight())

	var phones []struct {
		Number string `json:"number"`
		Text   string `json:"text"`
	}
	d.getJSON("/api/v1/sim/phones", &phones)
	for _, m := range phones {
		t.Errorf("a simulated phone got %q (%s)", m.Text, m.Number)
	}
	d.stop()
}
