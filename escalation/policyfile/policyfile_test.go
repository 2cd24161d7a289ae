package policyfile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/tocsin-relay/tocsin/escalation"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestBadExamples loads each testdata/bad-*.yaml and compares the error
// lines with bad-*.golden: exactly what `tocsin policy check` prints.
func TestBadExamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad-*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/bad-*.yaml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := Load(filepath.Base(f), readFile(t, f))
			if err == nil {
				t.Fatalf("Load = %+v, want errors", p)
			}
			if p != nil {
				t.Errorf("Load returned a policy with errors")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors", err)
			}
			for i := 1; i < len(es); i++ {
				if es[i].Line < es[i-1].Line {
					t.Errorf("errors not sorted by line: %d after %d", es[i].Line, es[i-1].Line)
				}
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

func TestGoodExamples(t *testing.T) {
	for _, f := range []string{"testdata/good-spec.yaml", "testdata/good-spec.json", "testdata/good-channels.yaml", "../testdata/demo-policy.yaml"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := Load(f, readFile(t, f))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := Load("exported", out)
			if err != nil {
				t.Fatalf("Load(Marshal(p)): %v\n%s", err, out)
			}
			if !reflect.DeepEqual(p, p2) {
				t.Errorf("Load(Marshal(p)) != p\n p: %+v\np2: %+v", p, p2)
			}
			out2, err := Marshal(p2)
			if err != nil || !bytes.Equal(out, out2) {
				t.Errorf("Marshal is not a fixed point:\n%s\n---\n%s", out, out2)
			}
			if strings.HasPrefix(f, "testdata/") {
				golden(t, f+".export.golden", out)
			}
		})
	}
}

func TestLoadSpecExample(t *testing.T) {
	p, err := Load("good-spec.yaml", readFile(t, "testdata/good-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Contacts[1].Phone; got != "+819023456789" {
		t.Errorf("suzuki's phone = %q, want it normalised to +819023456789", got)
	}
	if got := p.EscalationPolicies[0].Levels[1].After; got.D() != 5*time.Minute {
		t.Errorf("levels[1].after = %v, want 5m", got)
	}
	o := p.Schedules[0].Overrides[0]
	if want := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC); !o.Start.Equal(want) {
		t.Errorf("override start = %v, want %v", o.Start, want)
	}
	if m := p.Maintenance[0]; m.Weekly == nil || m.Weekly.From != "02:00" || m.Weekly.Days[0] != "sun" {
		t.Errorf("maintenance = %+v", m)
	}
	if got := p.Settings.AckTimeout.D(); got != 30*time.Minute {
		t.Errorf("ack_timeout = %v, want 30m", got)
	}
	j, err := Load("good-spec.json", readFile(t, "testdata/good-spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := j.EscalationPolicies[0].Levels[1].After.D(); got != 5*time.Minute {
		t.Errorf("JSON after: 300 = %v, want 5m (seconds)", got)
	}
}

func TestLoadEdgeCases(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"empty", "", "f.yaml:1: empty policy"},
		{"only a comment", "# nothing\n", "f.yaml:1: empty policy"},
		{"two documents", "settings: {}\n---\nsettings: {}\n", "f.yaml:3: a second YAML document"},
		{"a list", "- 1\n", "f.yaml:1: want a mapping of keys to values, not a list"},
		{"a scalar", "hello\n", `f.yaml:1: want a mapping of keys to values, not "hello"`},
		{"duplicate key", "settings: {}\nsettings: {}\n", `f.yaml:2: key "settings" given twice (first on line 1)`},
		{"tab", "contacts:\n\t- id: x\n", "f.yaml:2: YAML: found character that cannot start any token"},
		{"contacts not a list", "contacts: tanaka\n", "f.yaml:1: contacts: want a list, such as [{…}, {…}]"},
		{"list for a string", "settings: {time_zone: [a]}\n", "f.yaml:1: settings.time_zone: want a string, not a list"},
		{"bad bool", "contacts: [{id: a, phone: '+819012345678', callback_ack: maybe}]\n", `f.yaml:1: contacts[0].callback_ack: "maybe": want true or false`},
		{"aliases too far", laughs(), "document too large"},
	}
	for _, tt := range tests {
		_, err := Load("f.yaml", []byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Load error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

// laughs is a "billion laughs" document: aliases of aliases that expand
// to far more nodes (200 schedules × 200 layers × 200 members) than the
// loader agrees to walk, in a few kilobytes.
func laughs() string {
	var b strings.Builder
	b.WriteString("contacts: [{id: x, phone: \"+819012345678\"}]\nschedules:\n  - id: s0\n    layers: &L\n")
	b.WriteString("      - &l {rotation: daily, start: \"2026-01-01 00:00\", members: [x" + strings.Repeat(", x", 199) + "]}\n")
	b.WriteString(strings.Repeat("      - *l\n", 199))
	for i := 1; i < 200; i++ {
		fmt.Fprintf(&b, "  - {id: s%d, layers: *L}\n", i)
	}
	return b.String()
}

func TestLoadAliasesAndMerge(t *testing.T) {
	data := `
defaults: &sms {via: [sms]}
contacts:
  - {id: tanaka, phone: "+819012345678"}
services:
  - {id: s, escalation_policy: p}
escalation_policies:
  - id: p
    levels:
      - after: 0s
        notify: [{<<: *sms, contact: tanaka}]
`
	_, err := Load("f.yaml", []byte(data))
	if err == nil || !strings.Contains(err.Error(), `f.yaml:2: unknown key "defaults" in the top level`) {
		t.Errorf("Load error %v, want the unknown top-level key reported", err)
	}
	data = strings.Replace(data, "defaults: &sms {via: [sms]}\n", "", 1)
	data = strings.Replace(data, "<<: *sms, ", "", 1)
	data = strings.Replace(data, "escalation_policies:", "x-anchors: []\nescalation_policies:", 1)
	if _, err := Load("f.yaml", []byte(data)); err == nil {
		t.Errorf("Load accepted an unknown key")
	}
}

func TestMarshalLayout(t *testing.T) {
	p := &escalation.Policy{
		Contacts: []escalation.Contact{{ID: "a", Phone: "+819012345678"}},
		Services: []escalation.Service{{ID: "s", EscalationPolicy: "p", GroupBy: escalation.Duration(90 * time.Minute)}},
		EscalationPolicies: []escalation.EscalationPolicy{{ID: "p", Levels: []escalation.Level{
			{After: escalation.Duration(5 * time.Minute), Notify: []escalation.Target{{Contact: "a", Via: []escalation.Channel{escalation.SMS}}}},
		}}},
	}
	out, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`phone: "+819012345678"`, "group_by: 1h30m", "after: 5m", "- {contact: a, via: [sms]}"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Marshal output lacks %q:\n%s", want, out)
		}
	}
}

// FuzzLoad checks that Load never panics, that every error carries the
// file name and a line, and that whatever it accepts survives a round
// trip through Marshal.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	files = append(files, "testdata/good-spec.json", "../testdata/demo-policy.yaml")
	for _, name := range files {
		f.Add(readFile(f, name))
	}
	f.Add([]byte("contacts: [{id: a, phone: '090-1234-5678'}]\nsettings: {default_region: jp}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte(laughs()))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load("f.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not a non-empty Errors", err)
			}
			for _, e := range es {
				if e.File != "f.yaml" || e.Line < 0 || e.Msg == "" {
					t.Fatalf("bad error %+v", e)
				}
			}
			return
		}
		out, err := Marshal(p)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		p2, err := Load("f.yaml", out)
		if err != nil {
			t.Fatalf("Load(Marshal(p)): %v\n%s", err, out)
		}
		out2, err := Marshal(p2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the policy:\n%s\n---\n%s", out, out2)
		}
	})
}
