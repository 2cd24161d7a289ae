package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// reportDB is a real database filled with incidents and pages at chosen
// instants through the store's own write paths.
type reportDB struct {
	t   *testing.T
	db  *sqlite.DB
	ref int
}

func (r *reportDB) incident(service, key string, at time.Time, drill bool) int64 {
	r.t.Helper()
	intake := "test"
	if drill {
		intake = escalation.DrillIntake
	}
	res, err := r.db.Ingest(context.Background(), escalation.Event{Service: service, DedupKey: key, Summary: key,
		Action: escalation.Trigger, Intake: intake}, 0, at, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return res.IncidentID
}

func (r *reportDB) transition(id int64, to escalation.Status, at time.Time) {
	r.t.Helper()
	if _, err := r.db.Transition(context.Background(), id, to, "tanaka", "sms", time.Time{}, at); err != nil {
		r.t.Fatal(err)
	}
}

// send queues messages and sends them at at as one SMS (a digest when
// there are several).
func (r *reportDB) send(at time.Time, ns ...escalation.Notification) {
	r.t.Helper()
	ctx := context.Background()
	if err := r.db.Enqueue(ctx, ns...); err != nil {
		r.t.Fatal(err)
	}
	claimed, err := r.db.Claim(ctx, escalation.SMS, 0, at)
	if err != nil || len(claimed) != len(ns) {
		r.t.Fatalf("claimed %d of %d: %v", len(claimed), len(ns), err)
	}
	ids := make([]int64, len(claimed))
	for i, n := range claimed {
		ids[i] = n.ID
	}
	r.ref++
	if err := r.db.Finish(ctx, ids, escalation.Outcome{Status: escalation.Sent, Ref: strconv.Itoa(r.ref)}, at); err != nil {
		r.t.Fatal(err)
	}
}

func page(id int64, contact, number string) escalation.Notification {
	return escalation.Notification{IncidentID: id, ContactID: contact, Channel: escalation.SMS, Number: number, Text: "page", Level: 1}
}

func TestReportOnARealDatabase(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err) // time/tzdata is linked in: the zone is always there
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := &reportDB{t: t, db: db}
	// The week of Monday 2026-11-02, Tokyo time.
	at := func(day, hh, mm int) time.Time { return time.Date(2026, 11, day, hh, mm, 0, 0, tokyo) }
	const tanaka, suzuki = "+819012345678", "+819087654321"

	old := r.incident("press", "old", at(2, 9, 0).AddDate(0, -2, 0), false) // before the report's span
	r.transition(old, escalation.Acknowledged, at(2, 9, 0).AddDate(0, -2, 0).Add(time.Hour))

	a := r.incident("press", "a", at(2, 10, 0), false) // Monday, business hours
	r.send(at(2, 10, 0), page(a, "tanaka", tanaka))
	r.transition(a, escalation.Acknowledged, at(2, 10, 2))
	r.transition(a, escalation.Resolved, at(2, 10, 30))

	b := r.incident("press", "b", at(3, 23, 30), false) // Tuesday night
	b2 := r.incident("press", "b2", at(3, 23, 30), false)
	r.send(at(3, 23, 30), page(b, "tanaka", tanaka), page(b2, "tanaka", tanaka)) // one digest SMS
	r.transition(b, escalation.Acknowledged, at(3, 23, 40))
	r.transition(b, escalation.Resolved, at(4, 0, 30))

	c := r.incident("press", "c", at(7, 14, 0), false) // Saturday afternoon
	r.send(at(7, 14, 0), page(c, "tanaka", tanaka))
	r.transition(c, escalation.Resolved, at(7, 14, 5)) // resolved without an ack
	// The confirmation of a reply is not a page.
	r.send(at(7, 14, 5), escalation.Notification{IncidentID: c, ContactID: "tanaka", Channel: escalation.SMS, Number: tanaka, Text: "ok"})

	f := r.incident("paint", "f", at(4, 8, 0), false) // Wednesday, before work
	r.send(at(4, 8, 0), page(f, "suzuki", suzuki))
	r.transition(f, escalation.Acknowledged, at(4, 8, 4))

	d := r.incident("press", "drill", at(2, 11, 0), true) // a drill: neither timing nor load
	r.send(at(2, 11, 0), page(d, "tanaka", tanaka))
	r.transition(d, escalation.Acknowledged, at(2, 11, 1))

	since, until := at(1, 0, 0), at(9, 0, 0)
	pol := &escalation.Policy{Schedules: []escalation.Schedule{{ID: "line1", TimeZone: "Asia/Tokyo",
		Layers: []escalation.Layer{{Members: []string{"tanaka", "suzuki"}}}}}}
	rb := escalation.NewReportBuilder(since, until, escalation.ContactZones(pol))
	if err := db.ReportData(context.Background(), since, until, rb); err != nil {
		t.Fatal(err)
	}
	rep := rb.Report()

	wantSvc := []escalation.ServiceReport{
		{Service: "paint", Incidents: 1,
			MTTA: escalation.Percentiles{N: 1, P50: 4 * time.Minute, P95: 4 * time.Minute}},
		{Service: "press", Incidents: 4,
			MTTA: escalation.Percentiles{N: 2, P50: 2 * time.Minute, P95: 10 * time.Minute},
			MTTR: escalation.Percentiles{N: 3, P50: 30 * time.Minute, P95: time.Hour}},
	}
	if len(rep.Services) != len(wantSvc) {
		t.Fatalf("services = %+v, want %+v", rep.Services, wantSvc)
	}
	for i, w := range wantSvc {
		if got := rep.Services[i]; got != w {
			t.Errorf("services[%d] = %+v, want %+v", i, got, w)
		}
	}
	wantPeople := []escalation.PersonReport{
		{Contact: "tanaka", TimeZone: "Asia/Tokyo", Pages: 3, Business: 1, Off: 1, Sleep: 1},
		{Contact: "suzuki", TimeZone: "Asia/Tokyo", Pages: 1, Off: 1},
	}
	if len(rep.People) != len(wantPeople) {
		t.Fatalf("people = %+v, want %+v", rep.People, wantPeople)
	}
	for i, w := range wantPeople {
		if got := rep.People[i]; got != w {
			t.Errorf("people[%d] = %+v, want %+v", i, got, w)
		}
	}
}
