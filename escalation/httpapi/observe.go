package httpapi

import (
	"context"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// timedIngester reports how long each committed event took, by intake, so
// every intake handler is measured the same way without repeating it.
type timedIngester struct {
	next    Ingester
	observe func(intake string, d time.Duration)
}

func (t timedIngester) Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error) {
	start := time.Now()
	res, err := t.next.Ingest(ctx, ev)
	if err == nil {
		t.observe(ev.Intake, time.Since(start))
	}
	return res, err
}
