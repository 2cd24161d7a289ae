package escalation_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

const basePolicy = `contacts:
  - {id: tanaka, phone: "+819012345678", language: ja}
  - {id: suzuki, phone: "+819087654321"}
  - {id: boss, phone: "+819011112222"}
services:
  - {id: press, escalation_policy: line1}
  - {id: paint, escalation_policy: single}
schedules:
  - id: oncall
    time_zone: UTC
    layers:
      - {rotation: daily, start: "2000-01-01 00:00", members: [tanaka, suzuki]}
escalation_policies:
  - id: line1
    repeat: 1
    levels:
      - after: 0s
        notify:
          - {schedule: oncall, via: [sms]}
          - {zone: line1}
      - after: 5m
        notify:
          - {contact: boss, via: [sms, voice]}
  - id: single
    levels:
      - after: 1m
        notify:
          - {contact: suzuki}
settings:
  default_region: JP
  ack_timeout: 30m
`

// rig is an engine on a real SQLite file, run inside a synctest bubble.
type rig struct {
	t      *testing.T
	db     *sqlite.DB
	e      *escalation.Engine
	cancel context.CancelFunc
	done   chan struct{}
}

func newRig(t *testing.T, policy string) *rig {
	t.Helper()
	p, err := policyfile.Load("policy.yaml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := db.ApplyPolicy(context.Background(), p, []byte(policy), "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.Version = v.Version
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, db: db, e: escalation.NewEngine(db, p, nil), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.e.Run(ctx)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *rig) stop() {
	r.cancel()
	<-r.done
	r.db.Close()
}

func (r *rig) trigger(service, key, summary string) escalation.IngestResult {
	r.t.Helper()
	res, err := r.e.Ingest(context.Background(), escalation.Event{Service: service, DedupKey: key, Summary: summary,
		Severity: escalation.SevCritical, Action: escalation.Trigger, Intake: "test"})
	if err != nil {
		r.t.Fatal(err)
	}
	synctest.Wait()
	return res
}

// pages lists "contact/channel" of every outbox row of incident id, oldest first.
func (r *rig) pages(id int64) []string {
	r.t.Helper()
	synctest.Wait()
	ns, err := r.db.Outbox(context.Background(), sqlite.OutboxFilter{IncidentID: id, Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for i := len(ns) - 1; i >= 0; i-- {
		if ns[i].Status == escalation.Failed && strings.HasPrefix(ns[i].Error, "cancelled") {
			continue
		}
		out = append(out, ns[i].ContactID+"/"+string(ns[i].Channel))
	}
	return out
}

func (r *rig) wantPages(id int64, want ...string) {
	r.t.Helper()
	got := r.pages(id)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		r.t.Errorf("at %s pages of #%d = %v, want %v", time.Now().UTC().Format("15:04:05"), id, got, want)
	}
}

func (r *rig) incident(id int64) escalation.Incident {
	r.t.Helper()
	inc, err := r.e.Incident(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return inc
}

func TestLevelsFireAfterTheirDelayAndRepeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		res := r.trigger("press", "k1", "pressure low")
		r.wantPages(res.IncidentID, "tanaka/sms")
		time.Sleep(5*time.Minute - time.Second)
		r.wantPages(res.IncidentID, "tanaka/sms")
		time.Sleep(time.Second)
		r.wantPages(res.IncidentID, "tanaka/sms", "boss/sms", "boss/voice")
		// Repeat: the next loop starts 5m (the gap between the levels)
		// after the last level.
		time.Sleep(5 * time.Minute)
		r.wantPages(res.IncidentID, "tanaka/sms", "boss/sms", "boss/voice", "tanaka/sms")
		time.Sleep(5 * time.Minute)
		r.wantPages(res.IncidentID, "tanaka/sms", "boss/sms", "boss/voice", "tanaka/sms", "boss/sms", "boss/voice")
		// repeat: 1 — nothing after the second loop.
		time.Sleep(time.Hour)
		if got := len(r.pages(res.IncidentID)); got != 6 {
			t.Errorf("after the last loop %d pages, want 6", got)
		}
		if inc := r.incident(res.IncidentID); inc.Loop != 1 || inc.Level != 2 {
			t.Errorf("loop %d level %d, want loop 1 (the repeat) at level 2", inc.Loop, inc.Level)
		}
		alarms, _ := r.e.ZoneAlarms(context.Background())
		if len(alarms) != 1 || alarms[0].Zone != "line1" {
			t.Errorf("zone alarms = %+v, want line1 raised", alarms)
		}
	})
}

func TestDedupSemantics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		a := r.trigger("press", "k", "one")
		b := r.trigger("press", "k", "two")
		if !a.New || b.New || a.IncidentID != b.IncidentID {
			t.Fatalf("same key: %+v then %+v, want one incident", a, b)
		}
		if inc := r.incident(a.IncidentID); inc.AlertCount != 2 {
			t.Errorf("alert count %d, want 2", inc.AlertCount)
		}
		// Only the first trigger of the incident paged.
		r.wantPages(a.IncidentID, "tanaka/sms")
		other := r.trigger("paint", "k", "other service")
		if !other.New {
			t.Errorf("same key on another service joined incident %d", other.IncidentID)
		}
		res, err := r.e.Ingest(context.Background(), escalation.Event{Service: "press", DedupKey: "k", Action: escalation.Resolve, Intake: "test"})
		if err != nil || res.Status != escalation.Resolved {
			t.Fatalf("resolve by key = %+v, %v", res, err)
		}
		again := r.trigger("press", "k", "three")
		if !again.New || again.IncidentID == a.IncidentID {
			t.Errorf("trigger after resolve = %+v, want a new incident", again)
		}
		drop, err := r.e.Ingest(context.Background(), escalation.Event{Service: "press", DedupKey: "nope", Action: escalation.Acknowledge, Intake: "test"})
		if err != nil || !drop.Dropped || drop.IncidentID != 0 {
			t.Errorf("ack of an unknown key = %+v, %v; want accepted and dropped", drop, err)
		}
	})
}

func TestAckStopsPendingAndAckTimeoutRetriggers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		res := r.trigger("press", "k", "jam")
		time.Sleep(time.Minute)
		if _, err := r.e.Transition(context.Background(), res.IncidentID, escalation.Acknowledged, "tanaka", "sms"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(29 * time.Minute)
		// No level 2; and the level-1 SMS still queued (this test runs no
		// modem) was cancelled by the ack.
		r.wantPages(res.IncidentID)
		// 30m after the ack, still not resolved: page again from level 1.
		time.Sleep(time.Minute)
		r.wantPages(res.IncidentID, "tanaka/sms")
		inc := r.incident(res.IncidentID)
		if inc.Status != escalation.Triggered {
			t.Errorf("status %s after ack timeout, want triggered", inc.Status)
		}
		kinds := ""
		for _, e := range inc.Timeline {
			kinds += e.Kind + " "
		}
		if !strings.Contains(kinds, "acknowledged retriggered level") {
			t.Errorf("timeline %q lacks the re-trigger", kinds)
		}
	})
}

func TestResolveMidLevelCancelsQueuedPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		res := r.trigger("press", "k", "jam")
		if _, err := r.e.Resolve(context.Background(), res.IncidentID, "op"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// The level-1 SMS was still queued (no modem in this test): it is
		// cancelled, not sent.
		ns, _ := r.db.Outbox(context.Background(), sqlite.OutboxFilter{IncidentID: res.IncidentID})
		if len(ns) != 1 {
			t.Fatalf("%d pages queued for the incident, want the level-1 SMS", len(ns))
		}
		for _, n := range ns {
			if n.Status != escalation.Failed || !strings.HasPrefix(n.Error, "cancelled") {
				t.Errorf("page %d is %s (%s), want cancelled", n.ID, n.Status, n.Error)
			}
		}
		time.Sleep(time.Hour)
		r.wantPages(res.IncidentID)
		if _, err := r.e.Acknowledge(context.Background(), res.IncidentID, "op"); escalation.KindOf(err) != escalation.Conflict {
			t.Errorf("ack of a resolved incident: %v, want Conflict", err)
		}
		if alarms, _ := r.e.ZoneAlarms(context.Background()); len(alarms) != 0 {
			t.Errorf("a resolved incident still raises %+v", alarms)
		}
	})
}

func TestManualEscalate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		res := r.trigger("press", "k", "jam")
		if _, err := r.e.Escalate(context.Background(), res.IncidentID, "op"); err != nil {
			t.Fatal(err)
		}
		r.wantPages(res.IncidentID, "tanaka/sms", "boss/sms", "boss/voice")
		if inc := r.incident(res.IncidentID); inc.Level != 2 {
			t.Errorf("level %d after escalate, want 2", inc.Level)
		}
	})
}

func TestPolicyChangeAppliesToNextStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		res := r.trigger("press", "k", "jam")
		// Level 2 now pages suzuki instead of boss.
		changed := strings.Replace(basePolicy, "{contact: boss, via: [sms, voice]}", "{contact: suzuki, via: [sms]}", 1)
		p, err := policyfile.Load("policy.yaml", []byte(changed))
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := r.db.ApplyPolicy(context.Background(), p, []byte(changed), "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p.Version = v.Version
		r.e.SetPolicy(p)
		time.Sleep(5 * time.Minute)
		r.wantPages(res.IncidentID, "tanaka/sms", "suzuki/sms")
		ns, _ := r.db.Outbox(context.Background(), sqlite.OutboxFilter{IncidentID: res.IncidentID})
		if ns[0].PolicyVersion != 2 || ns[1].PolicyVersion != 1 {
			t.Errorf("policy versions of pages = %d, %d; want 1 then 2", ns[1].PolicyVersion, ns[0].PolicyVersion)
		}
	})
}

func TestMaintenanceWindowHoldsPagesUntilItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble's clock starts at 2000-01-01 00:00 UTC (a Saturday).
		pol := basePolicy + `maintenance:
  - {service: press, start: "2000-01-01T00:00:00Z", end: "2000-01-01T01:00:00Z"}
`
		r := newRig(t, pol)
		res := r.trigger("press", "k", "jam during maintenance")
		if !res.New {
			t.Fatal("incident not recorded during maintenance")
		}
		time.Sleep(59 * time.Minute)
		r.wantPages(res.IncidentID)
		time.Sleep(time.Minute)
		r.wantPages(res.IncidentID, "tanaka/sms")
	})
}

// sendQueued plays the delivery worker: every queued SMS for number leaves
// as one message (a digest when there are several pages), marked sent.
func (r *rig) sendQueued(number string) {
	r.t.Helper()
	synctest.Wait()
	ctx := context.Background()
	for {
		batch, err := r.db.Claim(ctx, escalation.SMS, 0, time.Now())
		if err != nil {
			r.t.Fatal(err)
		}
		if len(batch) == 0 {
			return
		}
		ids := make([]int64, len(batch))
		for i, n := range batch {
			ids[i] = n.ID
		}
		status := escalation.Sent
		if batch[0].Number != number {
			status = escalation.Failed // not under test: out of the way
		}
		if err := r.db.Finish(ctx, ids, escalation.Outcome{Status: status}, time.Now()); err != nil {
			r.t.Fatal(err)
		}
	}
}

func TestSMSReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		a := r.trigger("press", "a", "first")
		b := r.trigger("press", "b", "second")
		r.sendQueued("+819012345678") // one digest naming #1 and #2
		later := r.trigger("press", "c", "third, queued but not yet sent")
		ctx := context.Background()
		// A stranger changes nothing.
		res, err := r.e.Reply(ctx, "+15550100", "4", "sms")
		if err != nil || res.Known {
			t.Fatalf("stranger reply = %+v, %v", res, err)
		}
		// tanaka (on call on day 0) replies from the national form with no
		// id: both incidents the digest named are acknowledged, and the
		// page he has not seen yet is not.
		res, err = r.e.Reply(ctx, "09012345678", "了解", "sms")
		if err != nil || !res.Known || len(res.IDs) != 2 {
			t.Fatalf("reply = %+v, %v; want both incidents acknowledged", res, err)
		}
		for _, id := range []int64{a.IncidentID, b.IncidentID} {
			if inc := r.incident(id); inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "tanaka" {
				t.Errorf("#%d %s by %q", id, inc.Status, inc.AcknowledgedBy)
			}
		}
		if inc := r.incident(later.IncidentID); inc.Status != escalation.Triggered {
			t.Errorf("#%d, never told, is %s; want triggered", later.IncidentID, inc.Status)
		}
		if !strings.Contains(res.Answer, "#1 #2") {
			t.Errorf("confirmation %q does not name both", res.Answer)
		}
		// Resolve one by id, from a full-width reply.
		res, err = r.e.Reply(ctx, "+819012345678", "６　２", "sms")
		if err != nil || len(res.IDs) != 1 || res.IDs[0] != 2 {
			t.Fatalf("reply 6 2 = %+v, %v", res, err)
		}
		if inc := r.incident(b.IncidentID); inc.Status != escalation.Resolved {
			t.Errorf("#2 is %s, want resolved", inc.Status)
		}
		// A bare resolve acts on the rest of the last digest: #1
		// (acknowledged), not #2 (resolved already), not #3 (not told).
		res, err = r.e.Reply(ctx, "+819012345678", "6", "sms")
		if err != nil || len(res.IDs) != 1 || res.IDs[0] != a.IncidentID {
			t.Fatalf("bare 6 = %+v, %v; want #%d only", res, err, a.IncidentID)
		}
		res, _ = r.e.Reply(ctx, "+819012345678", "hello?", "sms")
		if res.Err == nil || !strings.Contains(res.Answer, "4=了解") {
			t.Errorf("gibberish answered %q (err %v), want the grammar in Japanese", res.Answer, res.Err)
		}
	})
}

// A drill page sent after a real page: a bare reply acknowledges the drill
// only, and the drill page asks for its id.
func TestBareReplyToDrillActsOnDrillOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		ctx := context.Background()
		real := r.trigger("press", "real", "hydraulic pressure low")
		r.sendQueued("+819012345678")
		drill, err := r.e.Drill(ctx, "press", "test")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		ns, err := r.db.Outbox(ctx, sqlite.OutboxFilter{IncidentID: drill.IncidentID})
		if err != nil || len(ns) == 0 {
			t.Fatalf("drill page: %v, %v", ns, err)
		}
		if want := fmt.Sprintf("4 %d", drill.IncidentID); !strings.Contains(ns[0].Text, want) {
			t.Errorf("drill page %q does not ask for %q", ns[0].Text, want)
		}
		r.sendQueued("+819012345678")
		res, err := r.e.Reply(ctx, "+819012345678", "4", "sms")
		if err != nil || len(res.IDs) != 1 || res.IDs[0] != drill.IncidentID {
			t.Fatalf("bare 4 after the drill = %+v, %v; want the drill #%d only", res, err, drill.IncidentID)
		}
		if inc := r.incident(real.IncidentID); inc.Status != escalation.Triggered {
			t.Errorf("real incident #%d is %s after a reply to the drill, want triggered", real.IncidentID, inc.Status)
		}
	})
}

// Answers to one number are bounded: junk gets three grammar answers an
// hour, the rest are dropped (and reported as such); an hour later the
// person can be helped again.
func TestReplyAnswersBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, basePolicy)
		ctx := context.Background()
		answered := 0
		for i := range 20 {
			res, err := r.e.Reply(ctx, "+819012345678", fmt.Sprintf("junk %d", i), "sms")
			if err != nil || res.Err == nil {
				t.Fatalf("junk reply: %+v, %v", res, err)
			}
			if !res.AnswerDropped {
				answered++
			}
		}
		if answered != escalation.AnswerLimit(escalation.AnswerHelp) {
			t.Errorf("%d grammar answers queued for 20 junk SMS, want %d", answered, escalation.AnswerLimit(escalation.AnswerHelp))
		}
		synctest.Wait()
		if ns, _ := r.db.Outbox(ctx, sqlite.OutboxFilter{Limit: 1000}); len(ns) != answered {
			t.Errorf("outbox holds %d messages, want %d", len(ns), answered)
		}
		// A reply that acts is still confirmed: confirmations have their own bound.
		inc := r.trigger("press", "k", "jam")
		res, err := r.e.Reply(ctx, "+819012345678", fmt.Sprintf("4 %d", inc.IncidentID), "sms")
		if err != nil || len(res.IDs) != 1 || res.AnswerDropped {
			t.Errorf("ack by id during a junk flood = %+v, %v; want acted on and confirmed", res, err)
		}
		time.Sleep(escalation.AnswerWindow)
		if res, _ := r.e.Reply(ctx, "+819012345678", "junk again", "sms"); res.AnswerDropped {
			t.Error("an hour later the grammar answer is still dropped")
		}
	})
}

func TestBareReplyTargets(t *testing.T) {
	inc := func(id int64, st escalation.Status, drill bool) escalation.Incident {
		return escalation.Incident{ID: id, Status: st, Drill: drill}
	}
	T, A, R := escalation.Triggered, escalation.Acknowledged, escalation.Resolved
	for _, tc := range []struct {
		name   string
		told   []escalation.Incident
		action escalation.Action
		want   []int64
	}{
		{"nothing told", nil, escalation.Acknowledge, nil},
		{"one page", []escalation.Incident{inc(1, T, false)}, escalation.Acknowledge, []int64{1}},
		{"digest, some resolved since", []escalation.Incident{inc(1, T, false), inc(2, R, false), inc(3, T, false)}, escalation.Acknowledge, []int64{1, 3}},
		{"ack skips acknowledged", []escalation.Incident{inc(1, A, false), inc(2, T, false)}, escalation.Acknowledge, []int64{2}},
		{"resolve takes acknowledged", []escalation.Incident{inc(1, A, false), inc(2, T, false), inc(3, R, false)}, escalation.Resolve, []int64{1, 2}},
		{"all resolved", []escalation.Incident{inc(1, R, false)}, escalation.Acknowledge, nil},
		{"drill page", []escalation.Incident{inc(7, T, true)}, escalation.Acknowledge, []int64{7}},
		{"digest of drills", []escalation.Incident{inc(7, T, true), inc(8, T, true)}, escalation.Resolve, []int64{7, 8}},
		{"mixed digest leaves the drill", []escalation.Incident{inc(1, T, false), inc(7, T, true)}, escalation.Acknowledge, []int64{1}},
		{"mixed digest, real resolved: drill still needs its id", []escalation.Incident{inc(1, R, false), inc(7, T, true)}, escalation.Acknowledge, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := escalation.BareReplyTargets(tc.told, tc.action)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("BareReplyTargets = %v, want %v", got, tc.want)
			}
		})
	}
}
