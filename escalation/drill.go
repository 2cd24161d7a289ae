package escalation

import (
	"context"
)

// DrillIntake marks an event as a drill: the store flags its incident, SMS
// texts start with [DRILL] / [訓練], and maintenance windows do not hold it
// back, because a drill exists to prove the whole path works now.
const DrillIntake = "drill"

// Drill opens a test incident on service (the policy's first service when
// empty) through the same path as a real alert, so it pages the people the
// service would page and is acknowledged the same way.
func (e *Engine) Drill(ctx context.Context, service, by string) (IngestResult, error) {
	pol := e.Policy()
	if service == "" {
		if len(pol.Services) == 0 {
			return IngestResult{}, Invalidf("service", "the policy has no services to drill")
		}
		service = pol.Services[0].ID
	}
	if by == "" {
		by = "someone"
	}
	return e.Ingest(ctx, Event{
		Service:  service,
		Summary:  "Test page by " + by, // short: a Japanese SMS segment holds 70 characters
		Severity: SevWarning,
		Source:   "drill",
		Action:   Trigger,
		Intake:   DrillIntake,
	})
}
