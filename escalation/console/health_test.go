package console

import (
	"encoding/json"
	"testing"
	"time"
)

func TestBuildHealth(t *testing.T) {
	doc := map[string]any{
		"version": "v1.0.0",
		"modem":   map[string]any{"up": false, "signal_dbm": -60, "last_error": "port closed"},
		"outbox":  map[string]any{"depth": 7, "failed": 2},
		"mqtt":    map[string]any{"connected": false, "broker": "tcp://10.0.0.2:1883"},
		"gpio": map[string]any{"outputs": []any{
			map[string]any{"on": true, "id": "siren-1"},
			map[string]any{"id": "red-1", "mode": "flashing"},
		}},
	}
	v := buildHealth(doc)
	if !v.Available || !v.HasModem || v.Modem.Up || v.Modem.Bars != 0 || v.Modem.LastError != "port closed" {
		t.Errorf("modem = %+v: want down, no bars, the last error", v.Modem)
	}
	if v.Depth != 7 {
		t.Errorf("depth = %d, want 7", v.Depth)
	}
	if len(v.Sections) != 2 || v.Sections[0].Key != "gpio" || v.Sections[1].Key != "mqtt" {
		t.Fatalf("sections = %+v, want gpio then mqtt", v.Sections)
	}
	tb := v.Sections[0].Tables[0]
	if tb.Cols[0] != "id" || len(tb.Rows) != 2 || tb.Rows[0][0] != "siren-1" || tb.Rows[1][0] != "red-1" {
		t.Errorf("gpio outputs table = %+v, want id first, one row per output", tb)
	}
	if got := buildHealth(nil); got.Available {
		t.Errorf("no status document shows as available")
	}
}

// The health page lays out whatever the status document holds; no shape
// of document may break it.
func FuzzBuildHealth(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"modem": 3}`, `{"modem": {"signal_dbm": "x", "up": "yes"}}`,
		`{"gpio": {"outputs": [{"id": "a"}, 3, null]}}`, `{"outbox": {"depth": 1e300}}`,
		`{"mqtt": {"a": {"b": {"c": [[1, 2], {"d": null}]}}}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var doc any
		if json.Unmarshal([]byte(s), &doc) != nil {
			return
		}
		v := buildHealth(doc)
		if v.Modem.Bars < 0 || v.Modem.Bars > 4 {
			t.Errorf("bars = %d", v.Modem.Bars)
		}
	})
}

// The health page says times in the display zone with its label (not the
// document's nanosecond ISO), yes and no and known modes in the reader's
// language, and never translates ids; a table without an id starts with
// its zone.
func TestHealthWords(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, jst)
	for _, tc := range []struct {
		l                       lang
		at, yes, mode, idStatus string
	}{
		{"en", "08:50:01 JST", "yes", "flashing", "status"},
		{"ja", "08:50:01 JST", "はい", "点滅", "status"},
	} {
		p := &pageData{L: tc.l, Zone: jst, Now: now}
		if got := p.HV("2026-12-05T23:50:01.123456789Z"); got != tc.at {
			t.Errorf("%s: a time reads %q, want %q", tc.l, got, tc.at)
		}
		if got := p.HV("yes"); got != tc.yes {
			t.Errorf("%s: yes reads %q, want %q", tc.l, got, tc.yes)
		}
		if got := p.HC("mode", "flashing"); got != tc.mode {
			t.Errorf("%s: mode flashing reads %q, want %q", tc.l, got, tc.mode)
		}
		if got := p.HC("id", "status"); got != tc.idStatus {
			t.Errorf("%s: the output id status reads %q; ids are shown as written", tc.l, got)
		}
	}
	v := buildHealth(map[string]any{"gpio": map[string]any{"zones": []any{
		map[string]any{"triggered": 1, "siren": "critical", "zone": "line1"}}}})
	if cols := v.Sections[0].Tables[0].Cols; cols[0] != "zone" {
		t.Errorf("zones table columns %v, want the zone first", cols)
	}
}

// The twin relays' section: the role as a fact, the relays as a table.
func TestBuildHealthCluster(t *testing.T) {
	doc := map[string]any{"cluster": map[string]any{"name": "relay-a", "role": "active", "merged_duplicates": 0,
		"members": []any{
			map[string]any{"name": "relay-a", "address": "10.0.0.1:7946", "state": "alive", "modem_up": true, "priority": 1, "self": true},
			map[string]any{"name": "relay-b", "address": "10.0.0.2:7946", "state": "dead", "modem_up": false, "priority": 2},
		}}}
	v := buildHealth(doc)
	if len(v.Sections) != 1 || v.Sections[0].Key != "cluster" {
		t.Fatalf("sections = %+v", v.Sections)
	}
	s := v.Sections[0]
	if len(s.Tables) != 1 || s.Tables[0].Title != "members" || len(s.Tables[0].Rows) != 2 {
		t.Fatalf("members table = %+v", s.Tables)
	}
	role := false
	for _, r := range s.Rows {
		role = role || (r.K == "role" && r.V == "active")
	}
	if !role {
		t.Errorf("rows = %+v, want the role", s.Rows)
	}
	for _, l := range []lang{"en", "ja"} {
		p := &pageData{L: l}
		if p.HK("cluster") == "cluster" || p.HV("standby") == "standby" || p.HK("modem_up") == "modem_up" {
			t.Errorf("%s: cluster words missing", l)
		}
	}
}
