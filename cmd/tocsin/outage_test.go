package main

import (
	"context"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// Modem outages shorter than the modem-health rule never fail a page:
// pages wait in the outbox, uncounted, and leave when the supervisor says
// the modem is up again (issue 11).

var incidentRef = regexp.MustCompile(`#(\d+)`)

// pagesWaitOut posts three alerts paging tanaka while outage is under
// way, then checks that every page reaches tanaka once the modem is back,
// that none failed, that no incident moved to level 2, that the boss got
// nothing, and that each timeline says why its page waited.
func pagesWaitOut(t *testing.T, e *e2e, outage func()) {
	pagesWaitOutExcept(t, e, "", outage, nil)
}

// pagesWaitOutExcept is pagesWaitOut where SMS to other (a number paged
// by the health incident) are allowed, and during runs after the alerts
// are posted, while the outage lasts.
func pagesWaitOutExcept(t *testing.T, e *e2e, other string, outage, during func()) {
	outage()
	start := time.Now()
	want := map[int64]bool{}
	for _, s := range []string{"Spindle vibration", "Hydraulic pressure low", "Coolant flow"} {
		res := e.alert(map[string]any{"service": "press-line-1", "summary": s, "severity": "error"})
		want[res.IncidentID] = true
	}
	if during != nil {
		during()
	}
	seen := map[int64]bool{}
	sms := 0
	for len(seen) < len(want) {
		var got modemsim.SentSMS
		select {
		case got = <-e.sim.Sent():
		case <-time.After(3 * time.Minute): // the outage plus the ladder's climb and backoff
			t.Fatalf("pages %v not all on the wire 3 minutes after the outage began\n%s", want, e.logText())
		}
		if got.To == other {
			continue
		}
		if got.To != "+819012345678" {
			t.Fatalf("SMS to %s during the outage test: %+v (only tanaka is paged at level 1)", got.To, got)
		}
		sms++
		for _, m := range incidentRef.FindAllStringSubmatch(got.Text, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			seen[id] = true
		}
	}
	t.Logf("all %d pages reached tanaka in %d SMS, %s after the outage began", len(want), sms, time.Since(start).Round(100*time.Millisecond))
	if sms != 1 {
		t.Errorf("%d SMS to tanaka, want the pages folded into one digest", sms)
	}
	for id := range want {
		inc := e.incident(id)
		if inc.Level != 1 {
			t.Errorf("incident %d at level %d after the outage, want 1", id, inc.Level)
		}
		waited := 0
		for _, tl := range inc.Timeline {
			if tl.Kind == escalation.KindFailed {
				t.Errorf("incident %d: a page failed: %s", id, tl.Detail)
			}
			if strings.Contains(tl.Detail, "waiting for the modem") {
				waited++
			}
		}
		if waited != 1 {
			t.Errorf("incident %d: %d timeline lines say the page waited for the modem, want 1:\n%+v", id, waited, inc.Timeline)
		}
	}
	for _, s := range e.sim.History() {
		if s.To != "+819012345678" && s.To != other {
			t.Errorf("SMS to %s: %q", s.To, s.Text)
		}
	}
}

// The modem drops off the USB bus for 10 s.
func TestPagesWaitOutUnplug(t *testing.T) {
	e := newE2E(t, testPolicy("2m"))
	e.start()
	pagesWaitOut(t, e, func() {
		if err := e.sim.UnplugFor(t.Context(), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		e.waitLog(0, "modem down; recovering")
	})
}

// The modem stops answering for 75 s: the first send finds no prompt, the
// supervisor's probe fails, and it climbs the recovery ladder until the
// module answers again.
func TestPagesWaitOutSilence(t *testing.T) {
	needs.Long(t, "75 s outage")
	e := newE2E(t, testPolicy("4m"))
	e.start()
	pagesWaitOut(t, e, func() { e.sim.SilentFor(75 * time.Second) })
}

// An alert posted while the modem is still starting: its SMS and its call
// leave as soon as the modem is up (no "modem is down" attempt, no retry
// delay). The sim answers each command slowly, so bring-up takes about a
// second and the alert surely arrives first.
func TestPageAtStartLeavesWhenModemUp(t *testing.T) {
	e := newE2E(t, `contacts:
  - {id: tanaka, name: Tanaka, phone: "090-1234-5678", language: en}
services:
  - {id: press-line-1, escalation_policy: line1}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: tanaka, via: [sms, voice]}
settings:
  default_region: JP
`)
	var (
		mu        sync.Mutex
		cmgs, atd time.Time
		onTheWire = make(chan struct{}, 2)
	)
	e.sim.OnCommand(func(line string, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(line, "AT+CMGS=") && cmgs.IsZero():
			cmgs = at
			onTheWire <- struct{}{}
		case strings.HasPrefix(line, "ATD") && atd.IsZero():
			atd = at
			onTheWire <- struct{}{}
		}
	})
	e.sim.SetAnswerDelay(40 * time.Millisecond)
	launched := time.Now()
	e.launch(false)
	var posted time.Time
	var res escalation.IngestResult
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := e.tryAlert(ctx, map[string]any{"service": "press-line-1", "summary": "Power restored; line halted", "severity": "critical"}, &res)
		cancel()
		if err == nil {
			posted = time.Now()
			break
		}
		if time.Since(launched) > 30*time.Second {
			t.Fatalf("the API never accepted the alert: %v\n%s", err, e.logText())
		}
		time.Sleep(5 * time.Millisecond) // the HTTP server is not listening yet
	}
	e.sim.SetAnswerDelay(0)
	for range 2 {
		select {
		case <-onTheWire:
		case <-time.After(30 * time.Second):
			t.Fatalf("SMS and call not both on the wire within 30s\n%s", e.logText())
		}
	}
	ready := e.waitLog(0, "modem ready")
	readyAt := logTime(t, e.logText()[:ready])
	mu.Lock()
	defer mu.Unlock()
	t.Logf("alert accepted %s after launch; modem ready %s after launch; SMS on the wire %s and call dialled %s after the modem was ready",
		posted.Sub(launched).Round(time.Millisecond), readyAt.Sub(launched).Round(time.Millisecond),
		cmgs.Sub(readyAt).Round(time.Millisecond), atd.Sub(readyAt).Round(time.Millisecond))
	if !posted.Before(readyAt) {
		t.Logf("note: the alert arrived after the modem was up (a fast start); the order below still holds")
	}
	for what, at := range map[string]time.Time{"SMS": cmgs, "call": atd} {
		if d := at.Sub(readyAt); d > 5*time.Second {
			t.Errorf("%s on the wire %s after the modem was ready, want at once (bound 5 s)", what, d)
		}
	}
	inc := e.incident(res.IncidentID)
	for _, tl := range inc.Timeline {
		if strings.Contains(tl.Detail, "failed") || strings.Contains(tl.Detail, "retrying") {
			t.Errorf("a page at start counted an attempt: %s", tl.Detail)
		}
	}
}

// logTime reads the time= of the last line of log (the text handler).
func logTime(t testing.TB, log string) time.Time {
	t.Helper()
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	last := lines[len(lines)-1]
	i := strings.Index(last, "time=")
	if i < 0 {
		t.Fatalf("no time in %q", last)
	}
	f := strings.Fields(last[i+len("time="):])[0]
	at, err := time.Parse(time.RFC3339Nano, f)
	if err != nil {
		t.Fatalf("time in %q: %v", last, err)
	}
	return at
}

// The daemon is killed while the modem holds its answer to AT+CMGS: the
// page may have left. After the restart the incident's timeline says so
// before the page is sent again.
func TestKilledMidSendNotedOnTimeline(t *testing.T) {
	e := newE2E(t, testPolicy("1h"))
	e.start()
	held, release := e.sim.HoldSends()
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "Die temperature high", "severity": "critical"})
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatalf("no AT+CMGS\n%s", e.logText())
	}
	e.kill()
	release() // the module finishes its answer to nobody
	restarted := e.logLen()
	e.start()
	// The held message and the one sent again after the restart.
	for range 2 {
		if got := e.nextSMS(); !strings.Contains(got.Text, "Die temperature high") {
			t.Errorf("SMS = %+v", got)
		}
	}
	e.waitLog(restarted, `msg="SMS sent"`) // committed
	inc := e.incident(res.IncidentID)
	noted := -1
	resent := -1
	for i, tl := range inc.Timeline {
		if strings.Contains(tl.Detail, "interrupted by restart; may have been sent") {
			noted = i
		}
		if tl.Kind == escalation.KindSent {
			resent = i
		}
	}
	if noted < 0 || resent < noted {
		t.Errorf("timeline %+v: want \"interrupted by restart; may have been sent\" before the page is sent again", inc.Timeline)
	}
}

// A long outage: the modem stops answering for longer than the
// modem-health rule (shortened here with modem.health_grace; 5 minutes by
// default, proven at full length in TestModemHealthIncidentAndDigest). The
// "tocsin" health incident opens, the pages keep waiting, and when the
// modem answers again tanaka gets one digest of his three pages; nothing is
// lost and nothing failed.
func TestLongOutageOpensHealthIncident(t *testing.T) {
	needs.Long(t, "a minute-long outage")
	policy := strings.Replace(testPolicy("4m"), "services:\n", `services:
  - {id: tocsin, name: Tocsin itself, escalation_policy: self}
`, 1)
	policy = strings.Replace(policy, "escalation_policies:\n", `escalation_policies:
  - id: self
    levels:
      - after: 0s
        notify:
          - {contact: boss, via: [sms]}
`, 1)
	e := newE2EWith(t, policy, "  health_grace: 15s")
	e.start()
	from := e.logLen()
	var (
		once sync.Once
		open bool
	)
	pagesWaitOutExcept(t, e, "+819011112222", func() { e.sim.SilentFor(60 * time.Second) }, func() {
		once.Do(func() {
			e.waitLogWithin(from, "health incident opened", 2*time.Minute)
			open = true
		})
	})
	if !open {
		t.Fatal("the health incident never opened")
	}
	var incs []escalation.Incident
	e.api("GET", "/api/v1/incidents?service=tocsin", nil, &incs)
	if len(incs) != 1 || incs[0].DedupKey != "modem-health" || incs[0].Severity != escalation.SevCritical {
		t.Fatalf("health incidents %+v, want one critical modem-health incident", incs)
	}
	t.Logf("health incident #%d: %s", incs[0].ID, strings.SplitN(incs[0].Summary, "\n", 2)[0])
	// Resolved once the modem is healthy again.
	e.waitLogWithin(from, "health incident resolved", time.Minute)
	if inc := e.incident(incs[0].ID); inc.Status != escalation.Resolved {
		t.Errorf("health incident %s after the modem came back, want resolved", inc.Status)
	}
}
