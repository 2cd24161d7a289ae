package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// healthView is the status document laid out for people. The document is
// read through its JSON form, so the console shows whatever parts the
// daemon reports (GPIO and MQTT appear when they are configured) without
// depending on the daemon's Go types.
type healthView struct {
	Available bool
	Modem     modemView
	HasModem  bool
	Daemon    []kv
	Outbox    []kv
	Depth     int
	Sections  []section // GPIO, MQTT and anything else the document has
}

type modemView struct {
	Up, Simulated                                  bool
	Device, Model, Manufacturer, Firmware          string
	Registration, Operator, LastError, Since, IMEI string
	Reports                                        string // how delivery reports arrive: "direct (+CDS)", …
	SignalDBM                                      int
	Bars                                           int
}

type kv struct{ K, V string }

// section is one part of the document: scalar fields, then lists of
// objects as tables.
type section struct {
	Key    string
	Rows   []kv
	Tables []table
}

type table struct {
	Title string
	Cols  []string
	Rows  [][]string
}

// signalBars turns a received signal strength into 0-4 bars, the way
// phones do (GSM 27.007 +CSQ maps -113..-51 dBm). 0 dBm means unknown.
func signalBars(dbm int) int {
	switch {
	case dbm == 0 || dbm <= -110:
		return 0
	case dbm >= -73:
		return 4
	case dbm >= -83:
		return 3
	case dbm >= -93:
		return 2
	}
	return 1
}

func (c *Console) handleHealth(w http.ResponseWriter, r *http.Request, rq request) {
	var v healthView
	if c.opts.Status != nil {
		v = buildHealth(c.opts.Status(r.Context()))
	}
	c.render(w, r, http.StatusOK, "health", rq, "health", v)
}

func buildHealth(doc any) healthView {
	var v healthView
	b, err := json.Marshal(doc)
	if err != nil {
		return v
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || m == nil {
		return v
	}
	v.Available = true
	if mo, ok := m["modem"].(map[string]any); ok {
		v.HasModem = true
		v.Modem = modemView{
			Up: truthy(mo["up"]), Simulated: truthy(mo["simulated"]),
			Device: str(mo["device"]), Model: str(mo["model"]), Manufacturer: str(mo["manufacturer"]),
			Firmware: str(mo["firmware"]), Registration: str(mo["registration"]), Operator: str(mo["operator"]),
			LastError: str(mo["last_error"]), Since: str(mo["since"]), IMEI: str(mo["imei"]),
			Reports: str(mo["delivery_reports"]),
		}
		if f, ok := mo["signal_dbm"].(float64); ok {
			v.Modem.SignalDBM = int(f)
		}
		v.Modem.Bars = signalBars(v.Modem.SignalDBM)
		if !v.Modem.Up {
			v.Modem.Bars = 0
		}
	}
	for _, k := range []string{"version", "uptime", "demo"} {
		if x, ok := m[k]; ok {
			v.Daemon = append(v.Daemon, kv{k, str(x)})
		}
	}
	if e, ok := m["engine"].(map[string]any); ok {
		for _, k := range sortedKeys(e) {
			v.Daemon = append(v.Daemon, kv{"engine." + k, str(e[k])})
		}
	}
	if d, ok := m["database"].(map[string]any); ok {
		for _, k := range sortedKeys(d) {
			v.Daemon = append(v.Daemon, kv{"database." + k, str(d[k])})
		}
	}
	if p, ok := m["policy"].(map[string]any); ok {
		for _, k := range sortedKeys(p) {
			v.Daemon = append(v.Daemon, kv{"policy." + k, str(p[k])})
		}
	}
	if o, ok := m["outbox"].(map[string]any); ok {
		if f, ok := o["depth"].(float64); ok {
			v.Depth = int(f)
		}
		for _, k := range sortedKeys(o) {
			if k != "depth" {
				v.Outbox = append(v.Outbox, kv{k, str(o[k])})
			}
		}
	}
	known := map[string]bool{"modem": true, "version": true, "uptime": true, "demo": true, "engine": true,
		"database": true, "policy": true, "outbox": true,
		// Readiness: the banner on every page says it, in the reader's language.
		"configured": true, "reachable_contacts": true, "not_configured_reason": true, "not_configured_reason_ja": true}
	// GPIO and MQTT first, then anything newer, by name.
	keys := sortedKeys(m)
	slices.SortStableFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
	for _, k := range keys {
		if known[k] {
			continue
		}
		s := section{Key: k}
		flatten(&s, "", m[k])
		v.Sections = append(v.Sections, s)
	}
	return v
}

func rank(k string) int {
	switch k {
	case "gpio":
		return 0
	case "mqtt":
		return 1
	}
	return 2
}

// flatten lays a JSON value out as rows and tables.
func flatten(s *section, prefix string, x any) {
	switch x := x.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(s, name, x[k])
		}
	case []any:
		if t, ok := asTable(prefix, x); ok {
			s.Tables = append(s.Tables, t)
			return
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = str(e)
		}
		s.Rows = append(s.Rows, kv{prefix, strings.Join(parts, ", ")})
	default:
		s.Rows = append(s.Rows, kv{prefix, str(x)})
	}
}

// asTable turns a list of objects into a table with one column per key.
func asTable(title string, xs []any) (table, bool) {
	if len(xs) == 0 {
		return table{}, false
	}
	colSet := map[string]bool{}
	var cols []string
	for _, e := range xs {
		m, ok := e.(map[string]any)
		if !ok {
			return table{}, false
		}
		for _, k := range sortedKeys(m) {
			if !colSet[k] {
				colSet[k] = true
				cols = append(cols, k)
			}
		}
	}
	// The key column reads best first: "id" or "name", else the zone or
	// input a row is about.
	slices.SortStableFunc(cols, func(a, b string) int { return colRank(a) - colRank(b) })
	t := table{Title: title, Cols: cols}
	for _, e := range xs {
		m := e.(map[string]any)
		row := make([]string, len(cols))
		for i, c := range cols {
			if v, ok := m[c]; ok {
				row[i] = str(v)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, true
}

func colRank(c string) int {
	switch c {
	case "id", "name":
		return 0
	case "zone", "input", "output":
		return 1
	}
	return 2
}

// isKeyColumn reports whether a column holds names from the config (ids,
// pins, zones), which are shown as written, never translated.
func isKeyColumn(c string) bool {
	switch c {
	case "id", "name", "zone", "input", "output", "pin":
		return true
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func truthy(x any) bool { b, _ := x.(bool); return b }

// str writes a JSON value the way a person reads it.
func str(x any) string {
	switch x := x.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}
