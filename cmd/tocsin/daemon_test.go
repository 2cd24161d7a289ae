package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/testnet"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// tocsinBin is the daemon built once for the end-to-end tests.
var tocsinBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tocsin-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tocsinBin = filepath.Join(dir, "tocsin")
	build := exec.Command("go", "build", "-o", tocsinBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the daemon:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// e2e is one daemon under test with its simulator, state and config.
type e2e struct {
	t     testing.TB
	dir   string
	cfg   string
	addr  string
	token string
	sim   *modemsim.Sim
	cmd   *exec.Cmd
	// gpioYAML is the config's gpio section.
	gpioYAML string
	logMu    sync.Mutex
	logCond  *sync.Cond
	log      bytes.Buffer // the daemon's stderr, across restarts
	exited   chan struct{}
}

// testPolicy pages tanaka by SMS at once and boss after levelTwo.
func testPolicy(levelTwo string) string {
	return `contacts:
  - {id: tanaka, name: 田中 太郎, phone: "090-1234-5678", language: ja}
  - {id: suzuki, name: Suzuki, phone: "+819087654321", language: en}
  - {id: boss, name: Boss, phone: "+819011112222", language: en}
services:
  - {id: press-line-1, name: Press line 1, escalation_policy: line1, routing_key: 0123456789abcdef0123456789abcdef}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: tanaka, via: [sms]}
      - after: ` + levelTwo + `
        notify:
          - {contact: boss, via: [sms]}
settings:
  default_region: JP
`
}

// newE2E prepares a state directory, a config and a simulator on a pty.
func newE2E(t testing.TB, policy string) *e2e {
	return newE2EWith(t, policy, "")
}

// newE2EWith also appends extra YAML to the modem section of the config.
func newE2EWith(t testing.TB, policy, modemExtra string) *e2e {
	return newE2EFull(t, policy, modemExtra, "gpio:\n  backend: none")
}

// newE2EFull also sets the config's gpio section.
func newE2EFull(t testing.TB, policy, modemExtra, gpioYAML string) *e2e {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, path, err := modemsim.StartPTY(ctx, modemsim.Options{SendDelay: 5 * time.Millisecond, BootTime: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := testnet.Addr(t)
	e := &e2e{t: t, dir: dir, addr: addr, token: "test-token", sim: sim, gpioYAML: gpioYAML}
	e.logCond = sync.NewCond(&e.logMu)
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`state_dir: %s
policy_file: %s
http:
  listen: "%s"
  tokens:
    - {name: test, token: %s}
modem:
  device: %s
%s
%s
log:
  level: debug
`, filepath.Join(dir, "state"), filepath.Join(dir, "policy.yaml"), addr, e.token, path, modemExtra, e.gpioYAML)
	e.cfg = filepath.Join(dir, "tocsin.yaml")
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs the daemon and returns once its modem is initialised and
// its HTTP server listens (it says so on stderr).
func (e *e2e) start() {
	e.t.Helper()
	e.launch(true)
}

// launch runs the daemon; with waitReady it returns once the modem is
// initialised and the HTTP server listens, else as soon as it started.
func (e *e2e) launch(waitReady bool) {
	e.t.Helper()
	cmd := exec.Command(tocsinBin, "serve", "-c", e.cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.cmd = cmd
	ready := make(chan struct{})
	readyC := ready
	exited := make(chan struct{})
	e.exited = exited
	modemReady, httpReady := false, false
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			e.logMu.Lock()
			e.log.WriteString(line + "\n")
			e.logMu.Unlock()
			e.logCond.Broadcast()
			if !modemReady && strings.Contains(line, "modem ready") {
				modemReady = true
			}
			if !httpReady && strings.Contains(line, "tocsin running") {
				httpReady = true
			}
			if modemReady && httpReady && ready != nil {
				close(ready)
				ready = nil
			}
		}
		cmd.Wait()
	}()
	e.t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if e.t.Failed() {
			e.logMu.Lock()
			e.t.Logf("daemon log:\n%s", e.log.String())
			e.logMu.Unlock()
		}
	})
	if !waitReady {
		return
	}
	select {
	case <-readyC:
	case <-exited:
		e.t.Fatalf("daemon exited before it was ready:\n%s", e.logText())
	case <-time.After(30 * time.Second):
		e.t.Fatalf("daemon not ready after 30s:\n%s", e.logText())
	}
}

func (e *e2e) logText() string {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return e.log.String()
}

// kill stops the daemon with SIGKILL, as a power cut or OOM kill would.
func (e *e2e) kill() {
	e.cmd.Process.Signal(syscall.SIGKILL)
	<-e.exited
}

// api calls the daemon's API and decodes the JSON answer.
func (e *e2e) api(method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, "http://"+e.addr+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

func (e *e2e) alert(a map[string]any) escalation.IngestResult {
	e.t.Helper()
	var res escalation.IngestResult
	if code := e.api("POST", "/api/v1/alerts", a, &res); code != http.StatusAccepted {
		e.t.Fatalf("POST /api/v1/alerts = %d", code)
	}
	return res
}

func (e *e2e) incident(id int64) escalation.Incident {
	e.t.Helper()
	var inc escalation.Incident
	if code := e.api("GET", fmt.Sprintf("/api/v1/incidents/%d", id), nil, &inc); code != http.StatusOK {
		e.t.Fatalf("GET incident %d = %d", id, code)
	}
	return inc
}

// nextSMS waits for the simulator to see the next complete SMS.
func (e *e2e) nextSMS() modemsim.SentSMS {
	e.t.Helper()
	select {
	case s := <-e.sim.Sent():
		return s
	case <-time.After(30 * time.Second):
		e.t.Fatalf("no SMS on the wire within 30s; so far: %+v\n%s", e.sim.History(), e.logText())
	}
	return modemsim.SentSMS{}
}

// waitLog blocks until the daemon's log has a line containing substr at
// or after byte offset from, and returns the offset just past that line. It
// waits on the log itself, never by sleeping.
func (e *e2e) waitLog(from int, substr string) int {
	e.t.Helper()
	return e.waitLogWithin(from, substr, 30*time.Second)
}

// waitLogWithin is waitLog with another bound than 30 s.
func (e *e2e) waitLogWithin(from int, substr string, within time.Duration) int {
	e.t.Helper()
	return e.scanLog(from, within, fmt.Sprintf("a log line with %q", substr), func(line []byte) bool {
		return bytes.Contains(line, []byte(substr))
	})
}

// scanLog blocks until a line at or after byte offset from matches, and
// returns the offset just past it. It reads only the lines it has not read
// yet, so a long log (the benchmarks) costs one pass.
func (e *e2e) scanLog(from int, within time.Duration, what string, match func(line []byte) bool) int {
	e.t.Helper()
	timedOut := false
	timer := time.AfterFunc(within, func() {
		e.logMu.Lock()
		timedOut = true
		e.logMu.Unlock()
		e.logCond.Broadcast()
	})
	defer timer.Stop()
	e.logMu.Lock()
	defer e.logMu.Unlock()
	for {
		buf := e.log.Bytes()
		for from < len(buf) {
			nl := bytes.IndexByte(buf[from:], '\n')
			if nl < 0 {
				break
			}
			line := buf[from : from+nl]
			from += nl + 1
			if match(line) {
				return from
			}
		}
		if timedOut {
			e.t.Fatalf("not within %s: %s; daemon log:\n%s", within, what, buf)
		}
		e.logCond.Wait()
	}
}

// logLen is the current length of the daemon's log.
func (e *e2e) logLen() int {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return e.log.Len()
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decoding %d answer: %v", resp.StatusCode, err)
	}
}

// raw returns the body of an API call.
func (e *e2e) raw(method, path string) []byte {
	e.t.Helper()
	req, _ := http.NewRequest(method, "http://"+e.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// tryAlert posts an alert and reports an error instead of failing (the
// daemon may not listen yet).
func (e *e2e) tryAlert(ctx context.Context, a map[string]any, res *escalation.IngestResult) error {
	buf, _ := json.Marshal(a)
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+e.addr+"/api/v1/alerts", bytes.NewReader(buf))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST /api/v1/alerts = %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(res)
}
