package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A config and a policy that pass every check with no warning. (The
// "known:" lists in the expected messages are cut short: other fields may
// be added to the config.)
const goodCheckConfig = `state_dir: STATE
policy_file: policy.yaml
http:
  listen: "127.0.0.1:8080"
  tokens:
    - {name: ops, token_file: TOKEN}
mqtt:
  broker: tcp://127.0.0.1:1883
  subscriptions:
    - {topic: "factory/+/alarm/#", service: press-line-1, format: json}
  heartbeats:
    - {topic: factory/scada/alive, heartbeat: scada-main}
modem:
  device: sim
gpio:
  backend: sim
  outputs:
    - {id: siren-1, pin: GPIO17, zone: line1, kind: siren}
  inputs:
    - {id: ack-1, pin: GPIO22, zone: line1, action: ack}
`

const goodCheckPolicy = `contacts:
  - {id: tanaka, name: 田中 太郎, phone: "090-1234-5678", language: ja}
  - {id: suzuki, name: Suzuki, phone: "+819087654321"}
services:
  - {id: press-line-1, escalation_policy: line1}
  - {id: tocsin, escalation_policy: line1}
schedules:
  - id: week
    time_zone: Asia/Tokyo
    layers:
      - {rotation: weekly, start: "2026-11-02 09:00", members: [suzuki]}
    overrides:
      - {contact: tanaka, start: "2026-12-01T18:00:00+09:00", end: "2026-12-02T09:00:00+09:00"}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: tanaka}
          - {zone: line1}
      - after: 5m
        notify:
          - {schedule: week, via: [voice]}
heartbeats:
  - {id: scada-main, service: press-line-1, interval: 5m}
settings:
  default_region: JP
`

// runCheck writes the config and policy (after edit) to a directory and
// runs `tocsin check -c` there, returning its output and exit status.
func runCheck(t *testing.T, cfg, pol string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	token := filepath.Join(dir, "api.token")
	if err := os.WriteFile(token, []byte("s3cret-token\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg = strings.NewReplacer("STATE", filepath.Join(dir, "state"), "TOKEN", token).Replace(cfg)
	os.WriteFile(filepath.Join(dir, "tocsin.yaml"), []byte(cfg), 0o600)
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(pol), 0o600)
	cmd := exec.Command(tocsinBin, "check", "-c", "tocsin.yaml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), exitCode(err)
}

// lineOf is the 1-based line of text holding substr.
func lineOf(t *testing.T, text, substr string) string {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			return ":" + strconv.Itoa(i+1) + ": "
		}
	}
	t.Fatalf("no line holds %q", substr)
	return ""
}

func TestCheckGoodConfigAndPolicy(t *testing.T) {
	out, code := runCheck(t, goodCheckConfig, goodCheckPolicy)
	if code != 0 || strings.Contains(out, "warning") || strings.Contains(out, "error") {
		t.Fatalf("exit %d, want 0 without warnings:\n%s", code, out)
	}
	for _, want := range []string{"tocsin.yaml: ok", "policy.yaml: ok (2 contacts, 2 services, 1 schedules, 1 escalation policies)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Every way found in issue 15 of losing an alarm while `tocsin check` said
// ok is now an error or a warning at its file and line.
func TestCheckCatchesSilentDrops(t *testing.T) {
	for _, tt := range []struct {
		name     string
		cfg, pol [2]string // replace [0] with [1]
		file     string    // "tocsin.yaml" or "policy.yaml"
		at       string    // text on the line the message points at (after the edit)
		want     string
		code     int
	}{
		{name: "subscription to a missing service",
			cfg: [2]string{"service: press-line-1, format: json", "service: press-line-9, format: json"}, file: "tocsin.yaml", at: "press-line-9",
			want: `mqtt.subscriptions "factory/+/alarm/#": service "press-line-9" is not in the policy (known: press-line-1, tocsin): every message on the topic would be dropped`, code: 1},
		{name: "mqtt heartbeat the policy lacks",
			cfg: [2]string{"heartbeat: scada-main}", "heartbeat: scada-mian}"}, file: "tocsin.yaml", at: "scada-mian",
			want: `mqtt.heartbeats "factory/scada/alive": heartbeat "scada-mian" is not in the policy (known: scada-main): its beats would be dropped`, code: 1},
		{name: "policy heartbeat nothing feeds",
			cfg: [2]string{"  heartbeats:\n    - {topic: factory/scada/alive, heartbeat: scada-main}\n", ""}, file: "policy.yaml", at: "id: scada-main",
			want: `warning: heartbeat "scada-main" is fed by no mqtt.heartbeats entry in tocsin.yaml: unless something POSTs /api/v1/heartbeats/scada-main every 5m, it opens an incident on press-line-1`, code: 0},
		{name: "zone without outputs",
			pol: [2]string{"{zone: line1}", "{zone: line9}"}, file: "policy.yaml", at: "zone: line9",
			want: `zone "line9" has no siren, light or tower in tocsin.yaml (zones: known: line1): paging it sounds nothing`, code: 1},
		{name: "zone with gpio off",
			cfg: [2]string{"backend: sim", "backend: none"}, file: "policy.yaml", at: "zone: line1",
			want: `zone "line1" has no siren, light or tower in tocsin.yaml (zones: none: gpio.backend is none)`, code: 1},
		{name: "pin the Pi lacks",
			cfg: [2]string{"pin: GPIO17", "pin: GPIO99"}, file: "tocsin.yaml", at: "GPIO99",
			want: `gpio.outputs[0].pin: pin "GPIO99" does not exist: the Raspberry Pi header has GPIO0 to GPIO27`, code: 1},
		{name: "pin of another form",
			cfg: [2]string{"pin: GPIO22", "pin: PA7"}, file: "tocsin.yaml", at: "PA7",
			want: `warning: gpio.inputs[0].pin: pin "PA7": not a Raspberry Pi header line name`, code: 0},
		{name: "port out of range",
			cfg: [2]string{`listen: "127.0.0.1:8080"`, `listen: "0.0.0.0:80800"`}, file: "tocsin.yaml", at: "80800",
			want: `http.listen "0.0.0.0:80800": port "80800" is out of range (0 to 65535)`, code: 1},
		{name: "listen without a port",
			cfg: [2]string{`listen: "127.0.0.1:8080"`, `listen: "localhost"`}, file: "tocsin.yaml", at: "localhost",
			want: `http.listen "localhost": want host:port`, code: 1},
		{name: "missing token file",
			cfg: [2]string{"token_file: TOKEN", "token_file: /nonexistent/api.token"}, file: "tocsin.yaml", at: "token_file",
			want: `http.tokens[0].token_file: token file /nonexistent/api.token: no such file or directory`, code: 1},
		{name: "empty token",
			cfg: [2]string{"token_file: TOKEN", `token: ""`}, file: "tocsin.yaml", at: "name: ops",
			want: `http.tokens "ops": give exactly one of token and token_file`, code: 1},
		{name: "no tocsin service",
			pol: [2]string{"  - {id: tocsin, escalation_policy: line1}\n", ""}, file: "policy.yaml", at: "id: press-line-1",
			want: `warning: services: no "tocsin" service: when the modem or the uplink fails, the incident Tocsin opens pages nobody`, code: 0},
		{name: "overlapping overrides",
			pol:  [2]string{"end: \"2026-12-02T09:00:00+09:00\"}\n", "end: \"2026-12-02T09:00:00+09:00\"}\n      - {contact: suzuki, start: \"2026-12-02T08:00:00+09:00\", end: \"2026-12-02T12:00:00+09:00\"}\n"},
			file: "policy.yaml", at: "2026-12-02T12:00",
			want: `warning: schedules[0].overrides[1]: overlaps overrides[0] (tanaka, 2026-12-01T18:00:00+09:00 – 2026-12-02T09:00:00+09:00): both put on call for the overlap`, code: 0},
		{name: "contact no level reaches",
			pol: [2]string{"members: [suzuki]", "members: [tanaka]"}, file: "policy.yaml", at: "id: suzuki",
			want: `warning: contacts[1]: contact "suzuki" is in no escalation level, directly or through a schedule: no page ever reaches them`, code: 0},
		{name: "example number with a real modem",
			cfg: [2]string{"  device: sim", "  device: /dev/ttyUSB2"}, file: "policy.yaml", at: "id: tanaka",
			want: `contact tanaka has +819012345678, a made-up number from Tocsin's example policy; with a real modem it could page a stranger`, code: 1},
		{name: "nobody to page",
			pol:  [2]string{"          - {contact: tanaka}\n          - {zone: line1}\n      - after: 5m\n        notify:\n          - {schedule: week, via: [voice]}", "          - {zone: line1}"},
			file: "policy.yaml", at: "id: tanaka",
			want: `warning: not configured: no contact can be paged`, code: 0},
		{name: "unknown config key",
			cfg: [2]string{"  device: sim", "  device: sim\n  baudrate: 9600"}, file: "tocsin.yaml", at: "baudrate",
			want: `unknown key "baudrate" in modem (known: baud, device, `, code: 1},
		{name: "unknown nested config key",
			cfg: [2]string{"kind: siren}", "kind: siren, colour: red}"}, file: "tocsin.yaml", at: "colour",
			want: `unknown key "colour" in gpio.outputs[0] (known: active_low, cadence, id, kind, pin, `, code: 1},
		{name: "wrong type in config",
			cfg: [2]string{"  device: sim", "  device: sim\n  baud: fast"}, file: "tocsin.yaml", at: "baud: fast",
			want: `modem.baud: want a whole number, not "fast"`, code: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, pol := goodCheckConfig, goodCheckPolicy
			if tt.cfg[0] != "" {
				if !strings.Contains(cfg, tt.cfg[0]) {
					t.Fatalf("config lacks %q", tt.cfg[0])
				}
				cfg = strings.Replace(cfg, tt.cfg[0], tt.cfg[1], 1)
			}
			if tt.pol[0] != "" {
				if !strings.Contains(pol, tt.pol[0]) {
					t.Fatalf("policy lacks %q", tt.pol[0])
				}
				pol = strings.Replace(pol, tt.pol[0], tt.pol[1], 1)
			}
			text := cfg
			if tt.file == "policy.yaml" {
				text = pol
			}
			want := tt.file + lineOf(t, text, tt.at) + tt.want
			out, code := runCheck(t, cfg, pol)
			if !strings.Contains(out, want) {
				t.Errorf("output lacks\n  %s\ngot:\n%s", want, out)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, out)
			}
		})
	}
}

// A world-readable token file is a warning, not an error.
func TestCheckWorldReadableToken(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "open.token")
	os.WriteFile(token, []byte("s3cret\n"), 0o644)
	os.Chmod(token, 0o644)
	cfg := strings.Replace(goodCheckConfig, "token_file: TOKEN", "token_file: "+token, 1)
	out, code := runCheck(t, cfg, goodCheckPolicy)
	want := "tocsin.yaml" + lineOf(t, cfg, "open.token") + "warning: http.tokens[0].token_file: token file " + token + " is readable by everyone (mode 0644): chmod 0640 it"
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("exit %d, want 0 with\n  %s\ngot:\n%s", code, want, out)
	}
}

// The MQTT adapter's own checks (a topic filter it cannot subscribe to)
// and missing TLS files are errors at their line.
func TestCheckMQTTAndTLS(t *testing.T) {
	cfg := strings.Replace(goodCheckConfig, `topic: "factory/+/alarm/#"`, `topic: "factory/#/alarm"`, 1)
	cfg = strings.Replace(cfg, "  tokens:", "  tls: {cert_file: /nonexistent/tls.crt, key_file: /nonexistent/tls.key}\n  tokens:", 1)
	out, code := runCheck(t, cfg, goodCheckPolicy)
	for _, want := range []string{
		"tocsin.yaml" + lineOf(t, cfg, "factory/#/alarm") + "mqtt.subscriptions[0].topic: ",
		"tocsin.yaml" + lineOf(t, cfg, "tls.crt") + "http.tls.cert_file: certificate /nonexistent/tls.crt: no such file or directory",
		"tocsin.yaml" + lineOf(t, cfg, "tls.key") + "http.tls.key_file: key file /nonexistent/tls.key: no such file or directory",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks\n  %s\ngot:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}
