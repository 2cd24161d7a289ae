package modem_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// Open a modem (here the simulator on a pseudo-terminal; on a Pi the udev
// name /dev/tocsin-modem), initialise it, send a page and take replies.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, path, err := modemsim.StartPTY(ctx, modemsim.Options{SendDelay: time.Millisecond})
	if err != nil {
		panic(err)
	}
	port, err := modem.OpenSerial(path, 115200)
	if err != nil {
		panic(err)
	}
	m := modem.New(port, modem.Options{})
	defer m.Close()

	replies := make(chan modem.InboundSMS, 1)
	m.OnSMS(func(ctx context.Context, msg modem.InboundSMS) error {
		replies <- msg // store it durably first; returning nil deletes it from the modem
		return nil
	})
	if err := m.Init(ctx, ""); err != nil {
		panic(err)
	}
	if err := m.ReadStored(ctx); err != nil { // replies that came while we were down
		panic(err)
	}
	refs, err := m.SendSMS(ctx, "+819012345678", "[#42 CRIT] press-line-1: Hydraulic pressure low\nReply 4 ack, 6 resolve")
	if err != nil {
		panic(err)
	}
	fmt.Println("parts:", len(refs))
	fmt.Println("sim got:", (<-sim.Sent()).Text[:10])

	sim.InjectSMS("+819012345678", "4 42")
	msg := <-replies
	fmt.Println("reply from", msg.From+":", msg.Text)
	// Output:
	// parts: 1
	// sim got: [#42 CRIT]
	// reply from +819012345678: 4 42
}

// A voice page: ring up to 45s, speak the summary where the module can,
// and end the call on 4 (acknowledge) or 6 (resolve). An answered call
// without a key is not an acknowledgement.
func ExampleModem_Call() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, path, _ := modemsim.StartPTY(ctx, modemsim.Options{Model: "SIMCOM_SIM7600G-H"})
	sim.ScriptCall(modemsim.CallScript{Answer: true, Keys: "94", KeyDelay: 100 * time.Millisecond})
	port, _ := modem.OpenSerial(path, 115200)
	m := modem.New(port, modem.Options{}) // profile detected from AT+CGMM
	defer m.Close()
	if err := m.Init(ctx, ""); err != nil {
		panic(err)
	}
	res, err := m.Call(ctx, "+819012345678", modem.CallOptions{
		RingTimeout:  45 * time.Second,
		Speech:       "Tocsin alert 42, press line 1, hydraulic pressure low. Press 4 to acknowledge, 6 to resolve.",
		PollInterval: 100 * time.Millisecond,
		OnKey: func(key byte) bool {
			return key == '4' || key == '6' // other keys are recorded and ignored
		},
	})
	if err != nil {
		panic(err) // the modem failed; busy/no answer are outcomes
	}
	fmt.Println(m.Profile().Name, res.Outcome, "keys", res.Keys)
	for _, e := range res.Events {
		if e.Kind != "key" {
			fmt.Print(e.Kind, " ")
		}
	}
	fmt.Println()
	// Output:
	// sim7600 answered keys 94
	// dialled rang answered ended
}

// The daemon's wiring: a Supervisor opens the modem through the recovery
// ladder, re-registers handlers on every (re)connection, reads stored
// replies when it comes up, and reports State for /api/v1/status and the
// 5-minute "modem down" incident.
func ExampleSupervisor() {
	ctx, cancel := context.WithCancel(context.Background())
	sim, path, _ := modemsim.StartPTY(ctx, modemsim.Options{SendDelay: time.Millisecond})
	up := make(chan struct{}, 1)
	sup := modem.NewSupervisor(modem.SupervisorConfig{
		Ladder: modem.Ladder{
			Open: func(ctx context.Context) (io.ReadWriteCloser, error) {
				return modem.OpenSerial(path, 115200) // config modem.device, modem.baud
			},
			Options: modem.Options{Profile: ""}, // config modem.profile ("" = detect)
			PIN:     "",                         // config modem.pin_file
			Prepare: func(m *modem.Modem) { // on every new Modem
				m.OnSMS(func(ctx context.Context, msg modem.InboundSMS) error { return nil })
				m.OnIncomingCall(func(ctx context.Context, number string) { _ = m.HangUp(ctx) })
			},
			PowerKey: nil, // e.g. device.PowerKey.PulsePowerKey with pulse 0
		},
		OnUp: func(ctx context.Context, m *modem.Modem) { // also after a reboot
			_ = m.ReadStored(ctx)
			select {
			case up <- struct{}{}:
			default:
			}
		},
		OnState: func(s modem.State) {}, // publish; open/close the incident on s.Down
	})
	done := make(chan error)
	go func() { done <- sup.Run(ctx) }()
	<-up
	refs, err := sup.SendSMS(ctx, "+819012345678", "hello") // ErrModemDown while recovering: wait on sup.Ready()
	fmt.Println(len(refs), err, (<-sim.Sent()).Text, sup.State().Info.Model)
	cancel()
	<-done
	// Output: 1 <nil> hello SIMCOM_SIM7600G-H
}
