package device_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/device"
)

func TestParseCadence(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "off", want: "off"},
		{in: " Steady ", want: "steady"},
		{in: "on", want: "steady"},
		{in: "1s/1s", want: "1s/1s"},
		{in: "200ms/200ms, 200ms/2.4s", want: "200ms/200ms 200ms/2.4s"},
		{in: "", err: "empty cadence"},
		{in: "fast", err: `"fast" is not an ON/OFF pair`},
		{in: "1s", err: `"1s" is not an ON/OFF pair`},
		{in: "1s/x", err: `"x" is not a duration`},
		{in: "1ms/1s", err: "shorter than 20ms"},
		{in: "40s/40s", err: "longer than 1m0s"},
		{in: "-1s/1s", err: "shorter than 20ms"},
		{in: strings.Repeat("1s/1s ", 31), err: "longer than 1m0s"},
		{in: strings.Repeat("20ms/20ms ", 33), err: "at most 32 allowed"},
	}
	for _, tt := range tests {
		c, err := device.ParseCadence(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseCadence(%q) = %v, %v; want error containing %q", tt.in, c, err, tt.err)
			}
			continue
		}
		if err != nil || c.String() != tt.want {
			t.Errorf("ParseCadence(%q) = %q, %v; want %q", tt.in, c, err, tt.want)
		}
	}
	if !device.Pattern(time.Second, time.Second).Equal(device.DefaultError) {
		t.Error("Pattern(1s, 1s) != DefaultError")
	}
}

func FuzzParseCadence(f *testing.F) {
	for _, s := range []string{"off", "steady", "1s/1s", "200ms/200ms 200ms/2.4s", "1s", "a/b", "20ms/20ms,", "1h/1ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := device.ParseCadence(s)
		if err != nil {
			return
		}
		back, err := device.ParseCadence(c.String())
		if err != nil {
			t.Fatalf("ParseCadence(%q) = %q, which does not parse: %v", s, c, err)
		}
		if !back.Equal(c) {
			t.Fatalf("round trip of %q: %q != %q", s, back, c)
		}
	})
}
