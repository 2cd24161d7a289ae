package console

import (
	"encoding/json"
	"testing"
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
