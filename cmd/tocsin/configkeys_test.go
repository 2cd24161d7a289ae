package main

import (
	"strings"
	"testing"
)

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
