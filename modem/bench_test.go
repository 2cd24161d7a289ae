package modem_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// Benchmarks run on the real path: go.bug.st/serial on a pseudo-terminal to
// the simulator. `make bench` runs each once (-benchtime 1x); each does a
// fixed amount of work and reports its own figures.

func pct(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkCommandRoundTrip: AT+CSQ answered, 1,000 times.
func BenchmarkCommandRoundTrip(b *testing.B) {
	for b.Loop() {
		r := newBenchRig(b, modemsim.Options{})
		var lat []time.Duration
		for range 1000 {
			t0 := time.Now()
			if _, err := r.m.Command(b.Context(), "AT+CSQ"); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.ReportMetric(float64(pct(lat, 0.5).Microseconds()), "p50-µs/cmd")
		b.ReportMetric(float64(pct(lat, 0.99).Microseconds()), "p99-µs/cmd")
	}
}

// BenchmarkSendSMS: 200 single-part SMS with no simulated network delay,
// i.e. the cost of encoding and the AT+CMGS exchange itself.
func BenchmarkSendSMS(b *testing.B) {
	for b.Loop() {
		r := newBenchRig(b, modemsim.Options{SendDelay: -1})
		var lat []time.Duration
		for i := range 200 {
			t0 := time.Now()
			if _, err := r.m.SendSMS(b.Context(), "+819012345678", "[#"+strconv.Itoa(i)+" CRIT] press-line-1: Hydraulic pressure low"); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.ReportMetric(float64(pct(lat, 0.5).Microseconds()), "p50-µs/sms")
		b.ReportMetric(float64(pct(lat, 0.99).Microseconds()), "p99-µs/sms")
	}
}

// BenchmarkURCBurst: 2,000 unsolicited lines in one write, to handlers.
func BenchmarkURCBurst(b *testing.B) {
	for b.Loop() {
		r := newBenchRig(b, modemsim.Options{})
		const n = 2000
		done := make(chan struct{})
		count := 0
		r.m.HandleURC("+BURST:", func(string) {
			count++
			if count == n {
				close(done)
			}
		})
		lines := make([]string, n)
		for i := range lines {
			lines[i] = "+BURST: " + strconv.Itoa(i) + "," + strings.Repeat("x", 20)
		}
		t0 := time.Now()
		r.sim.EmitURCs(lines)
		<-done
		d := time.Since(t0)
		b.ReportMetric(float64(n)/d.Seconds(), "urc/s")
	}
}

type benchRig struct {
	sim *modemsim.Sim
	m   *modem.Modem
}

func newBenchRig(b *testing.B, opts modemsim.Options) *benchRig {
	sim, path, err := modemsim.StartPTY(b.Context(), opts)
	if err != nil {
		b.Fatal(err)
	}
	port, err := modem.OpenSerial(path, 115200)
	if err != nil {
		b.Fatal(err)
	}
	m := modem.New(port, modem.Options{})
	b.Cleanup(func() { m.Close() })
	if err := m.Init(b.Context(), ""); err != nil {
		b.Fatal(err)
	}
	return &benchRig{sim: sim, m: m}
}
