package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// waitLevel waits (through the engine's change notifications, not by
// sleeping) until incident id has fired level.
func (f *fixture) waitLevel(id int64, level int) {
	f.t.Helper()
	fired := make(chan struct{}, 1)
	cancel := f.engine.Subscribe(func(inc escalation.Incident) {
		if inc.ID == id && inc.Level >= level {
			select {
			case fired <- struct{}{}:
			default:
			}
		}
	})
	defer cancel()
	if f.incident(id).Level >= level {
		return
	}
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		f.t.Fatalf("level %d of #%d did not fire", level, id)
	}
}

// finish sends the queued pages of the test policy's contacts as the
// phone worker would, with outcome o.
func (f *fixture) finish(o escalation.Outcome) {
	f.t.Helper()
	ctx := context.Background()
	batch, err := f.db.Claim(ctx, escalation.SMS, 100, time.Now())
	if err != nil || len(batch) == 0 {
		f.t.Fatalf("claim = %d pages, %v", len(batch), err)
	}
	ids := make([]int64, len(batch))
	for i, n := range batch {
		ids[i] = n.ID
	}
	if err := f.db.Finish(ctx, ids, o, time.Now()); err != nil {
		f.t.Fatal(err)
	}
}

// Each page's state is said in words on the incident list and the
// incident page, in English and Japanese; a page cancelled by an
// acknowledgement is not a failure.
func TestPageStatesInWords(t *testing.T) {
	f := newFixture(t)
	sent := f.alert("Hydraulic pressure low", escalation.SevCritical)
	f.waitLevel(sent, 1)
	f.finish(escalation.Outcome{Status: escalation.Sent, Ref: "7", Timeline: "SMS to tanaka (+819012345678) sent, modem ref 7"})
	failed := f.alert("Oil temperature high", escalation.SevCritical)
	f.waitLevel(failed, 1)
	f.finish(escalation.Outcome{Status: escalation.Failed, Error: "+CMS ERROR: 21",
		Timeline: "SMS to tanaka failed after 3 attempt(s): +CMS ERROR: 21"})
	queued := f.alert("Conveyor jam", escalation.SevWarning)
	f.waitLevel(queued, 1)
	cancelled := f.alert("Door open", escalation.SevWarning)
	f.waitLevel(cancelled, 1)
	if _, err := f.engine.Acknowledge(context.Background(), cancelled, "suzuki"); err != nil {
		t.Fatal(err)
	}

	chip := func(id int64, page string) string {
		m := regexp.MustCompile(`(?s)id="incident-` + itoa(id) + `".*?<ul class="paged"[^>]*>\s*(<li class="page-[^"]+">.*?</li>)`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no pages listed for #%d:\n%s", id, page)
		}
		return m[1]
	}
	for _, tc := range []struct {
		lang string
		want map[int64]string
	}{
		{"en", map[int64]string{
			sent:      `<li class="page-sent"><span class="name">田中 太郎</span> <span class="ch">SMS</span> <span class="state">sent</span></li>`,
			failed:    `<li class="page-failed"><span class="name">田中 太郎</span> <span class="ch">SMS</span> <span class="state">failed: +CMS ERROR: 21</span></li>`,
			queued:    `<li class="page-queued"><span class="name">田中 太郎</span> <span class="ch">SMS</span> <span class="state">queued</span></li>`,
			cancelled: `<li class="page-cancelled"><span class="name">田中 太郎</span> <span class="ch">SMS</span> <span class="state">cancelled: acknowledged</span></li>`,
		}},
		{"ja", map[int64]string{
			sent:      `<span class="state">送信済み</span>`,
			failed:    `<span class="state">失敗: +CMS ERROR: 21</span>`,
			queued:    `<span class="state">送信待ち</span>`,
			cancelled: `<li class="page-cancelled"><span class="name">田中 太郎</span> <span class="ch">SMS</span> <span class="state">取消: 了解済み</span></li>`,
		}},
	} {
		b := f.browser()
		b.lang = tc.lang
		b.loginAs("demo", "demo-pw")
		_, list := b.do("GET", "/", nil, nil)
		for id, want := range tc.want {
			if got := html.UnescapeString(chip(id, list)); !strings.Contains(got, want) {
				t.Errorf("%s: #%d's page reads %s, want %s", tc.lang, id, got, want)
			}
		}
		_, page := b.do("GET", "/incidents/"+itoa(cancelled), nil, nil)
		if !strings.Contains(page, `<tr class="page-cancelled"><td class="state"`) || strings.Contains(page, `class="page-failed"`) {
			t.Errorf("%s: the incident page shows the cancelled page as a failure:\n%s", tc.lang, page)
		}
		_, page = b.do("GET", "/incidents/"+itoa(failed), nil, nil)
		if want := map[string]string{"en": "SMS to 田中 太郎 failed after 3 attempt(s): +CMS ERROR: 21",
			"ja": "田中 太郎 へのSMS失敗 (3回試行): +CMS ERROR: 21"}[tc.lang]; !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("%s: the timeline lacks %q", tc.lang, want)
		}
	}
}

// The next escalation step is said with names, its time in the policy's
// zone with the zone's label, and a countdown; an acknowledged incident
// says when it pages again, if it will.
func TestNextStepLine(t *testing.T) {
	f := newFixture(t)
	id := f.alert("Hydraulic pressure low", escalation.SevCritical)
	f.waitLevel(id, 1)
	due := f.incident(id).CreatedAt.Add(10 * time.Minute).In(time.FixedZone("JST", 9*3600)).Format("15:04:05")
	for lang, want := range map[string]*regexp.Regexp{
		"en": regexp.MustCompile(`<p class="next" data-level="2"><span class="label">next:</span>\s*<span class="target">(田中 太郎|Suzuki Hanako) by SMS</span> <span class="at">at ` + due +
			` JST</span>\s*\(<time class="countdown" datetime="[^"]+" data-until="[^"]+" data-fmt="in %s">in (9m\d\ds|10m)</time>\)</p>`),
		"ja": regexp.MustCompile(`<p class="next" data-level="2"><span class="label">次の呼び出し:</span>\s*<span class="target">(田中 太郎|Suzuki Hanako) \(SMS\)</span> <span class="at">` + due +
			` JST</span>\s*\(<time class="countdown" datetime="[^"]+" data-until="[^"]+" data-fmt="あと%s">あと(9分\d+秒|10分)</time>\)</p>`),
	} {
		b := f.browser()
		b.lang = lang
		b.loginAs("demo", "demo-pw")
		for _, path := range []string{"/", "/incidents/" + itoa(id)} {
			_, page := b.do("GET", path, nil, nil)
			if !want.MatchString(page) {
				t.Errorf("%s %s lacks the next step %v:\n%s", lang, path, want, page)
			}
		}
	}
	// Acknowledged without an ack timeout in the policy: nothing comes
	// next, and the page does not pretend otherwise.
	if _, err := f.engine.Acknowledge(context.Background(), id, "tanaka"); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	_, page := b.do("GET", "/", nil, nil)
	if strings.Contains(page, `class="next`) {
		t.Errorf("an acknowledged incident without an ack timeout shows a next step")
	}
	if !strings.Contains(page, "acknowledged by 田中 太郎") {
		t.Errorf("the list does not say who acknowledged by name")
	}
}

// Resolve and Escalate ask again before they act: without JavaScript the
// form post gets a page that asks, and only its "yes" acts.
func TestResolveAsksFirst(t *testing.T) {
	f := newFixture(t)
	id := f.alert("Hydraulic pressure low", escalation.SevCritical)
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	for _, action := range []string{"escalate", "resolve"} {
		resp, page := b.do("POST", "/incidents/"+itoa(id)+"/"+action, url.Values{"csrf": {b.csrf}, "next": {"/"}}, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="confirm" value="yes"`) || !strings.Contains(page, "Hydraulic pressure low") {
			t.Fatalf("%s without confirmation = %d, want a page that asks:\n%s", action, resp.StatusCode, page)
		}
		if inc := f.incident(id); inc.Status != escalation.Triggered || inc.Level > 1 {
			t.Errorf("%s acted before it was confirmed: %s at level %d", action, inc.Status, inc.Level)
		}
	}
	resp, _ := b.do("POST", "/incidents/"+itoa(id)+"/resolve", url.Values{"csrf": {b.csrf}, "next": {"/"}, "confirm": {"yes"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || f.incident(id).Status != escalation.Resolved {
		t.Errorf("confirmed resolve = %d, incident %s; want 303 and resolved", resp.StatusCode, f.incident(id).Status)
	}
	// Acknowledging is safe to repeat and needs no second step.
	ack := f.alert("Oil temperature high", escalation.SevWarning)
	if resp, _ := b.do("POST", "/incidents/"+itoa(ack)+"/ack", url.Values{"csrf": {b.csrf}, "next": {"/"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("ack = %d, want 303", resp.StatusCode)
	}
}

// Every page's title counts the unacknowledged incidents, for a wall
// display's browser tab.
func TestTitleCountsUnacknowledged(t *testing.T) {
	f := newFixture(t)
	f.alert("Hydraulic pressure low", escalation.SevCritical)
	f.alert("Oil temperature high", escalation.SevWarning)
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	for _, path := range []string{"/", "/health", "/policy"} {
		_, page := b.do("GET", path, nil, nil)
		if !regexp.MustCompile(`<title>\(2\) [^<]+ · Tocsin</title>`).MatchString(page) || !strings.Contains(page, `data-unacked="2"`) {
			t.Errorf("%s does not count the 2 unacknowledged incidents in its title", path)
		}
	}
	_, part := b.do("GET", "/?partial=1", nil, nil)
	if !strings.Contains(part, `data-unacked="2"`) {
		t.Errorf("a live refresh does not carry the count")
	}
}
