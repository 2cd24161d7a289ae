package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
)

// TestIncidentListBounds: limit defaults to 100, is at most 1,000 (a 400
// that names the maximum above it), and pages by offset or by the
// before cursor that a full page's Link header carries.
func TestIncidentListBounds(t *testing.T) {
	_, ts, eng, _ := rolesServer(t)
	const n = 1234
	for i := range n {
		if _, err := eng.Ingest(context.Background(), escalation.Event{Service: "press-line-1", Summary: fmt.Sprintf("alarm %d", i),
			Severity: escalation.SevWarning, Action: escalation.Trigger, Intake: "cli"}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(query string) ([]escalation.Incident, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/incidents"+query, nil)
		req.Header.Set("Authorization", "Bearer read-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", query, resp.StatusCode)
		}
		var incs []escalation.Incident
		if err := json.NewDecoder(resp.Body).Decode(&incs); err != nil {
			t.Fatalf("GET %s: %v", query, err)
		}
		return incs, resp.Header
	}

	for _, tc := range []struct{ limit, msg string }{
		{"100000", "limit 100000 is above the maximum of 1000"},
		{"1001", "limit 1001 is above the maximum of 1000"},
		{"0", "limit must be a whole number from 1 to 1000"},
		{"ten", "limit must be a whole number from 1 to 1000"},
	} {
		code, body := doRequest(t, "GET", ts.URL+"/api/v1/incidents?limit="+tc.limit, "read-secret", nil)
		var e apiError
		json.Unmarshal(body, &e)
		if code != http.StatusBadRequest || !strings.Contains(e.Error, tc.msg) || e.Field != "limit" {
			t.Errorf("limit=%s: %d %s, want 400 %q on field limit", tc.limit, code, body, tc.msg)
		}
	}

	if incs, _ := list(""); len(incs) != DefaultListLimit {
		t.Errorf("no limit: %d incidents, want the default %d", len(incs), DefaultListLimit)
	}
	full, hdr := list("?limit=1000")
	if len(full) != MaxListLimit || full[0].ID != n || full[999].ID != n-999 {
		t.Fatalf("limit=1000: %d incidents from #%d", len(full), full[0].ID)
	}
	if want := `</api/v1/incidents?before=235&limit=1000>; rel="next"`; hdr.Get("Link") != want {
		t.Errorf("Link %q, want %q", hdr.Get("Link"), want)
	}
	rest, hdr := list("?limit=1000&before=235")
	if len(rest) != n-MaxListLimit || rest[0].ID != n-1000 || rest[len(rest)-1].ID != 1 {
		t.Errorf("second page by cursor: %d incidents", len(rest))
	}
	if hdr.Get("Link") != "" {
		t.Errorf("the last page has a next link: %q", hdr.Get("Link"))
	}
	byOffset, _ := list("?limit=1000&offset=1000")
	if len(byOffset) != len(rest) || byOffset[0].ID != rest[0].ID {
		t.Errorf("offset=1000 gives %d incidents, want the same %d as the cursor", len(byOffset), len(rest))
	}
	// Filters survive into the next link.
	_, hdr = list("?limit=10&status=triggered&service=press-line-1")
	if want := `</api/v1/incidents?before=1225&limit=10&service=press-line-1&status=triggered>; rel="next"`; hdr.Get("Link") != want {
		t.Errorf("Link %q, want %q", hdr.Get("Link"), want)
	}
}
