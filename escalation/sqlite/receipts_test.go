package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// sendPage ingests an incident, queues a level-1 page to number, claims it
// and records it sent with refs, as the delivery worker does.
func sendPage(t *testing.T, db *sqlite.DB, key, number, refs string, now time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	res, err := db.Ingest(ctx, trigger(key, escalation.SevCritical), 0, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Enqueue(ctx, escalation.Notification{IncidentID: res.IncidentID, ContactID: "tanaka", Channel: escalation.SMS,
		Number: number, Text: "page " + key, Severity: escalation.SevCritical, Level: 1}); err != nil {
		t.Fatal(err)
	}
	batch, err := db.Claim(ctx, escalation.SMS, 0, now)
	if err != nil || len(batch) != 1 {
		t.Fatalf("claim = %+v, %v", batch, err)
	}
	if err := db.Finish(ctx, []int64{batch[0].ID}, escalation.Outcome{Status: escalation.Sent, Ref: refs,
		Timeline: "SMS sent"}, now); err != nil {
		t.Fatal(err)
	}
	return res.IncidentID
}

func pageState(t *testing.T, db *sqlite.DB, id int64) escalation.Notification {
	t.Helper()
	inc, err := db.IncidentDetail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.Notifications) != 1 {
		t.Fatalf("incident #%d has %d notifications, want 1", id, len(inc.Notifications))
	}
	return inc.Notifications[0]
}

func hasTimeline(t *testing.T, db *sqlite.DB, id int64, kind, detail string) bool {
	t.Helper()
	inc, err := db.Incident(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range inc.Timeline {
		if e.Kind == kind && e.Detail == detail {
			return true
		}
	}
	return false
}

func TestDeliveryReportDelivered(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	id := sendPage(t, db, "a", "+819012345678", "7", now)
	// Networks report the recipient in national form as often as not.
	p, ok, err := db.ReportedPage(ctx, "09012345678", 7)
	if err != nil || !ok {
		t.Fatalf("ReportedPage = %v, %v; want the page", ok, err)
	}
	if p.ContactID != "tanaka" || p.Level != 1 || len(p.Covers) != 1 || p.Covers[0] != id {
		t.Errorf("page = %+v", p)
	}
	settled, err := db.RecordReport(ctx, p, escalation.DeliveryReport{Delivered: true, Reason: "received", At: now.Add(4 * time.Second),
		Timeline: "delivered after 4s"}, now.Add(5*time.Second))
	if err != nil || !settled {
		t.Fatalf("RecordReport = %v, %v", settled, err)
	}
	n := pageState(t, db, id)
	if n.Status != escalation.Delivered || n.DeliveredAt == nil {
		t.Errorf("page state %s (delivered at %v), want delivered", n.Status, n.DeliveredAt)
	}
	if !hasTimeline(t, db, id, escalation.KindDelivered, "delivered after 4s") {
		t.Error("timeline lacks the delivery")
	}
	// A second report for the same part finds nothing pending.
	if _, ok, _ := db.ReportedPage(ctx, "+819012345678", 7); ok {
		t.Error("a settled page matched again")
	}
}

func TestDeliveryReportFailed(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	id := sendPage(t, db, "a", "+819012345678", "8", now)
	p, ok, _ := db.ReportedPage(ctx, "+819012345678", 8)
	if !ok {
		t.Fatal("no page")
	}
	settled, err := db.RecordReport(ctx, p, escalation.DeliveryReport{Reason: "incompatible destination", At: now,
		Timeline: "not delivered"}, now)
	if err != nil || !settled {
		t.Fatalf("RecordReport = %v, %v", settled, err)
	}
	n := pageState(t, db, id)
	if n.Status != escalation.Failed || n.Error != "not delivered: incompatible destination" {
		t.Errorf("page %s %q, want failed: not delivered", n.Status, n.Error)
	}
}

// A concatenated page is delivered when every part is.
func TestDeliveryReportConcatenated(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	id := sendPage(t, db, "a", "+819012345678", "20,21", now)
	for i, ref := range []int{20, 21} {
		p, ok, _ := db.ReportedPage(ctx, "+819012345678", ref)
		if !ok {
			t.Fatalf("part %d: no page", ref)
		}
		settled, err := db.RecordReport(ctx, p, escalation.DeliveryReport{Delivered: true, At: now, Timeline: "delivered"}, now)
		if err != nil {
			t.Fatal(err)
		}
		if last := i == 1; settled != last {
			t.Errorf("part %d settled = %v, want %v", ref, settled, last)
		}
		if st := pageState(t, db, id).Status; (st == escalation.Delivered) != (i == 1) {
			t.Errorf("after part %d the page is %s", ref, st)
		}
	}
}

// References wrap at 256: a report matches the newest unreported page with
// that reference, never an old one that happens to share it.
func TestDeliveryReportReferenceWrap(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	now := time.Now()
	var ids []int64
	for i := range 300 {
		ids = append(ids, sendPage(t, db, fmt.Sprintf("k%d", i), "+819012345678", fmt.Sprint(i%256), now.Add(time.Duration(i)*time.Second)))
	}
	// Page 5 and page 261 both carry reference 5; the report comes for the
	// later one after page 5 was reported long ago.
	p, _, _ := db.ReportedPage(ctx, "+819012345678", 5)
	if p.Covers[0] != ids[261] {
		t.Fatalf("reference 5 matched incident #%d, want #%d (the newest)", p.Covers[0], ids[261])
	}
	if _, err := db.RecordReport(ctx, p, escalation.DeliveryReport{Delivered: true, At: now, Timeline: "d"}, now); err != nil {
		t.Fatal(err)
	}
	p, _, _ = db.ReportedPage(ctx, "+819012345678", 5)
	if p.Covers[0] != ids[5] {
		t.Fatalf("second report for reference 5 matched #%d, want #%d", p.Covers[0], ids[5])
	}
	// Another number's reference 5 is its own.
	other := sendPage(t, db, "other", "+819087654321", "5", now)
	p, _, _ = db.ReportedPage(ctx, "+819087654321", 5)
	if p.Covers[0] != other {
		t.Errorf("the other number's report matched #%d, want #%d", p.Covers[0], other)
	}
}

func TestUnreported(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	t0 := time.Now()
	sendPage(t, db, "old", "+819012345678", "1", t0)
	sendPage(t, db, "new", "+819012345678", "2", t0.Add(2*time.Minute))
	next, ok, err := db.NextUnreported(ctx)
	if err != nil || !ok || !next.Equal(t0.Truncate(time.Millisecond)) && next.UnixMilli() != t0.UnixMilli() {
		t.Fatalf("NextUnreported = %v %v %v, want %v", next, ok, err, t0)
	}
	pages, err := db.Unreported(ctx, t0.Add(time.Minute))
	if err != nil || len(pages) != 1 || pages[0].Ref != 1 {
		t.Fatalf("Unreported = %+v, %v; want the old page only", pages, err)
	}
}
