package modem_test

import (
	"context"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// reports collects the delivery reports a Modem hands over.
func reports(m *modem.Modem) <-chan modem.StatusReport {
	ch := make(chan modem.StatusReport, 16)
	m.OnStatusReport(func(_ context.Context, r modem.StatusReport) { ch <- r })
	return ch
}

func waitReport(t *testing.T, ch <-chan modem.StatusReport) modem.StatusReport {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery report")
	}
	return modem.StatusReport{}
}

func TestDeliveryReports(t *testing.T) {
	for _, tc := range []struct {
		name      string
		report    modemsim.Report
		delivered bool
		reason    string
	}{
		{"delivered", modemsim.ReportDelivered, true, "received by the handset"},
		{"failed", modemsim.ReportFailed, false, "incompatible destination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, modemsim.Options{})
			if got := r.m.ReportMode(); got != modem.ReportsDirect {
				t.Fatalf("report mode %v, want direct", got)
			}
			ch := reports(r.m)
			r.sim.SetReports(tc.report, -1)
			refs, err := r.m.SendSMS(t.Context(), "+819012345678", "test")
			if err != nil {
				t.Fatal(err)
			}
			rep := waitReport(t, ch)
			if rep.Ref != refs[0] || rep.Recipient != "+819012345678" {
				t.Errorf("report for ref %d to %s, want ref %d to +819012345678", rep.Ref, rep.Recipient, refs[0])
			}
			if rep.Delivered() != tc.delivered || !rep.Final() || rep.Reason() != tc.reason {
				t.Errorf("delivered %v final %v reason %q, want %v true %q", rep.Delivered(), rep.Final(), rep.Reason(), tc.delivered, tc.reason)
			}
		})
	}
}

// TestDeliveryReportNone: a network that never reports sends nothing, and
// the next message still goes out normally.
func TestDeliveryReportNone(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	ch := reports(r.m)
	r.sim.SetReports(modemsim.ReportNone, -1)
	if _, err := r.m.SendSMS(t.Context(), "+819012345678", "one"); err != nil {
		t.Fatal(err)
	}
	r.barrier(t)
	select {
	case rep := <-ch:
		t.Fatalf("got a report %+v from a network that sends none", rep)
	default:
	}
}

// TestDeliveryReportStored: a module that only stores reports (AT+CNMI
// <ds>=2) announces them with +CDSI; the Modem reads and deletes them.
func TestDeliveryReportStored(t *testing.T) {
	r := newRig(t, modemsim.Options{OnlyStoredReports: true})
	if got := r.m.ReportMode(); got != modem.ReportsStored {
		t.Fatalf("report mode %v, want stored", got)
	}
	ch := reports(r.m)
	r.sim.SetReports(modemsim.ReportDelivered, -1)
	refs, err := r.m.SendSMS(t.Context(), "+819012345678", "stored report")
	if err != nil {
		t.Fatal(err)
	}
	rep := waitReport(t, ch)
	if rep.Ref != refs[0] || !rep.Delivered() {
		t.Errorf("report %+v, want delivered ref %d", rep, refs[0])
	}
	r.barrier(t)
	if n := len(r.sim.Stored()); n != 0 {
		t.Errorf("%d messages left in storage, want the report deleted", n)
	}
}

// TestDeliveryReportInterleaved: a +CDS arriving in the middle of another
// command's answer is taken as a report, and the command's answer is whole.
func TestDeliveryReportInterleaved(t *testing.T) {
	r := newRig(t, modemsim.Options{})
	ch := reports(r.m)
	r.sim.SetReports(modemsim.ReportDelivered, -1)
	for i := range 5 {
		refs, err := r.m.SendSMS(t.Context(), "+819012345678", "burst")
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if rep := waitReport(t, ch); rep.Ref != refs[0] {
			t.Errorf("send %d: report for ref %d, want %d", i, rep.Ref, refs[0])
		}
	}
}
