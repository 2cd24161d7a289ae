package main

import (
	"strings"
	"testing"
)

// Every section and kind of value the config has (cadences, durations,
// towers, the power key, the uplink) reads without a key or type error.
func TestParseConfigEverySection(t *testing.T) {
	const full = `state_dir: /tmp/x
http:
  listen: ":8080"
  tokens: [{name: a, token: b, read_only: true}]
  users: [{name: lead, password: p}]
  tls: {cert_file: a, key_file: b}
mqtt:
  broker: tcp://127.0.0.1:1883
  embedded_listen: "127.0.0.1:1883"
  subscriptions:
    - {topic: "a/#", service: s, format: text}
  heartbeats:
    - {topic: "a/alive", heartbeat: h}
modem:
  device: sim
  baud: 115200
  profile: sim7600
  power_key: {pin: GPIO6, pulse: 1.5s, active_low: true}
  ring_timeout: 30s
  sms_per_minute: 3
gpio:
  backend: sim
  debounce: 40ms
  long_press: 3s
  outputs:
    - {id: siren-1, pin: GPIO17, zone: line1, kind: siren, cadence: {error: "500ms/500ms", info: off}}
    - {id: red-1, pin: GPIO27, zone: line1, kind: light, cadence: {flash: "250ms/250ms"}}
  inputs:
    - {id: ack-1, pin: GPIO22, zone: line1, action: ack, pull: up, active_low: true}
    - {id: ack-2, pin: GPIO23, zone: line1, action: ack, active_low: yes}
  towers:
    - {id: tower-1, zone: line1, url: "http://192.0.2.10", alarm_tier: 1, ok_tier: 3, buzzer: {critical: 1}, timeout: 2s, retries: 2}
uplink: {url: "http://a/", interval: 1m, tries: 3, timeout: 5s, service: tocsin}
log: {level: info, format: json}
`
	c, err := parseConfig("full.yaml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if c.GPIO.Outputs[0].Cadence.Error == nil || c.Modem.PowerKey.Pulse.Seconds() != 1.5 || len(c.GPIO.Towers) != 1 || !c.GPIO.Inputs[1].ActiveLow {
		t.Errorf("decoded %+v", c)
	}
}

// FuzzParseConfig: any config text is either accepted or rejected with
// file:line errors; it never panics, and every error names the file.
func FuzzParseConfig(f *testing.F) {
	f.Add(string(demoConfig))
	f.Add("modem: {device: sim, baudrate: 9600}\n")
	f.Add("http: {listen: \"0.0.0.0:80800\"}\nmodem: {device: sim}\n")
	f.Add("gpio: {outputs: [{id: s, pin: GPIO99, kind: siren, zone: z, colour: red}]}\n")
	f.Add("a: &a [*a, *a]\nmodem: *a\n")
	f.Fuzz(func(t *testing.T, text string) {
		_, err := parseConfig("fuzz.yaml", []byte(text))
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "fuzz.yaml") {
				t.Fatalf("error line without the file: %q", line)
			}
		}
	})
}
