package mqttapi

import (
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// BenchmarkMQTTIngest measures alerts per second through a real mosquitto
// with QoS 1, each committed to SQLite (synchronous=FULL) by the real
// engine before its PUBACK. Every message opens a new incident (unique
// dedup key), the expensive case. mosquitto's default in-flight window (20)
// applies, as it would on site.
func BenchmarkMQTTIngest(b *testing.B) {
	const perRound = 5000
	broker := startMosquitto(b, "")
	eng, _ := newEngine(b)
	c := New(testConfig(broker.addr, "tocsin-bench"), eng, testLogger(b))
	runClient(b, c)
	waitStatus(b, c, "connected", func(st Status) bool { return st.Connected })
	pub := newObserver(b, broker.addr, "")

	var total time.Duration
	b.ResetTimer()
	for round := range b.N {
		base := c.Status().Committed
		start := time.Now()
		toks := make([]mqtt.Token, perRound)
		for i := range perRound {
			toks[i] = pub.cli.Publish(fmt.Sprintf("factory/p%d/alarm/x", i%64), 1, false,
				fmt.Sprintf(`{"summary":"bench alert %d","severity":"warning","dedup_key":"bench-%d-%d"}`, i, round, i))
		}
		for _, tok := range toks {
			if !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
				b.Fatalf("publish: %v", tok.Error())
			}
		}
		waitStatus(b, c, "every message committed", func(st Status) bool { return st.Committed >= base+perRound })
		total += time.Since(start)
	}
	b.StopTimer()
	if bad := c.Status().BadPayloads; bad != 0 {
		b.Fatalf("%d bad payloads", bad)
	}
	b.ReportMetric(float64(perRound*b.N)/total.Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}
