package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The policy follows its file: a valid change applies (new version, on
// SIGHUP or by itself when the file changes), a broken one is rejected with
// its errors logged and the running policy stays in force.
func TestPolicyReloadAndRejection(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	file := filepath.Join(e.dir, "policy.yaml")
	version := func() int {
		var st struct {
			Policy struct{ Version int }
		}
		e.api("GET", "/api/v1/status", nil, &st)
		return st.Policy.Version
	}
	if v := version(); v != 1 {
		t.Fatalf("version %d at start, want 1", v)
	}

	// A valid change, picked up from the file.
	at := e.logLen()
	changed := strings.Replace(testPolicy("1h"), "name: Boss", "name: Big Boss", 1)
	if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	at = e.waitLog(at, `msg="policy applied" version=2`)
	if v := version(); v != 2 {
		t.Errorf("version %d after the change, want 2", v)
	}

	// A broken file on SIGHUP: rejected, file:line in the log, v2 stays.
	broken := strings.Replace(changed, "contact: boss", "contact: nobody", 1)
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	e.cmd.Process.Signal(syscall.SIGHUP)
	e.waitLog(at, `unknown contact \"nobody\"`)
	if v := version(); v != 2 {
		t.Errorf("version %d after a rejected policy, want 2", v)
	}
	e.alert(map[string]any{"service": "press-line-1", "summary": "still paging"})
	if got := e.nextSMS(); got.To != "+819012345678" {
		t.Errorf("after the rejection the page went to %q", got.To)
	}

	// The API refuses the same broken policy with 400 and the lines.
	var apiErr struct{ Error, Field string }
	if code := e.api("PUT", "/api/v1/policy", broken, &apiErr); code != 400 || !strings.Contains(apiErr.Error, `unknown contact "nobody"`) {
		t.Errorf("PUT broken policy = %d %+v", code, apiErr)
	}
	// Export round-trips through apply: same hash, so no new version.
	exported := e.raw("GET", "/api/v1/policy")
	var applied struct{ Version int }
	if code := e.api("PUT", "/api/v1/policy", string(exported), &applied); code != 200 || applied.Version != 2 {
		t.Errorf("re-applying the export = %d version %d, want 200 and still version 2", code, applied.Version)
	}
}
