package modem_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tocsin-relay/tocsin/modem"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

const callee = "+819012345678"

// ackKeys ends the call on 4 (acknowledge) or 6 (resolve), as the phone
// adapter does; other keys are only recorded.
func ackKeys(got *[]byte) func(byte) bool {
	return func(k byte) bool {
		*got = append(*got, k)
		return k == '4' || k == '6'
	}
}

func TestCall(t *testing.T) {
	tests := []struct {
		name     string
		model    string
		script   modemsim.CallScript
		outcome  modem.CallOutcome
		keys     string
		answered bool
		rang     bool
		took     time.Duration // from dial to result, on the fake clock
		simEnd   string
		spoken   bool
		tones    int
	}{
		{name: "sim7600 answered, keys 1 then 4", model: "SIMCOM_SIM7600G-H",
			script:  modemsim.CallScript{Answer: true, RingFor: 5 * time.Second, Keys: "14", KeyDelay: 2 * time.Second},
			outcome: modem.CallAnswered, keys: "14", answered: true, rang: true, simEnd: "answered", spoken: true},
		{name: "ec25 answered, key 6", model: "EC25",
			script:  modemsim.CallScript{Answer: true, Keys: "6", KeyDelay: 3 * time.Second},
			outcome: modem.CallAnswered, keys: "6", answered: true, rang: true, simEnd: "answered", spoken: true},
		{name: "sim800 answered, key 4", model: "SIM800",
			script:  modemsim.CallScript{Answer: true, Keys: "4"},
			outcome: modem.CallAnswered, keys: "4", answered: true, rang: true, simEnd: "answered", tones: 3},
		{name: "answered without a key (voicemail)", model: "SIMCOM_SIM7600G-H",
			script:  modemsim.CallScript{Answer: true, RingFor: 10 * time.Second},
			outcome: modem.CallAnswered, answered: true, rang: true, took: 11*time.Second + 60*time.Second, // answer seen at the 11s poll
			simEnd: "answered", spoken: true},
		{name: "callee hangs up after answering", model: "SIMCOM_SIM7600G-H",
			script:  modemsim.CallScript{Answer: true, HangUpAfter: 5 * time.Second},
			outcome: modem.CallAnswered, answered: true, rang: true, simEnd: "answered", spoken: true},
		{name: "busy", model: "SIMCOM_SIM7600G-H", script: modemsim.CallScript{Busy: true},
			outcome: modem.CallBusy, took: 100 * time.Millisecond, simEnd: "busy"},
		{name: "unreachable", model: "SIMCOM_SIM7600G-H", script: modemsim.CallScript{Unreachable: true},
			outcome: modem.CallFailed, took: 100 * time.Millisecond, simEnd: "unreachable"},
		{name: "no answer", model: "SIMCOM_SIM7600G-H", script: modemsim.CallScript{},
			outcome: modem.CallNoAnswer, rang: true, took: 45 * time.Second, simEnd: "no-answer"},
		{name: "generic profile: keys not reported, tones instead of speech", model: "Generic LTE",
			script:  modemsim.CallScript{Answer: true, Keys: "4"},
			outcome: modem.CallAnswered, answered: true, rang: true, simEnd: "answered", tones: 12}, // 3 every 15s for 60s
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim, m := bubbleRig(t, modemsim.Options{Model: tt.model}, modem.Options{})
				sim.ScriptCall(tt.script)
				var keys []byte
				start := time.Now()
				res, err := m.Call(t.Context(), callee, modem.CallOptions{Speech: "Tocsin alert 42. Press 4 to acknowledge.", OnKey: ackKeys(&keys)})
				took := time.Since(start)
				if err != nil {
					t.Fatal(err)
				}
				if res.Outcome != tt.outcome || res.Answered != tt.answered || res.Rang != tt.rang || res.Keys != tt.keys {
					t.Errorf("got %+v", res)
				}
				if string(keys) != tt.keys {
					t.Errorf("OnKey saw %q, want %q", keys, tt.keys)
				}
				if tt.took != 0 && took != tt.took {
					t.Errorf("took %v, want %v", took, tt.took)
				}
				rec := <-sim.CallEnded()
				if rec.Outcome != tt.simEnd || rec.Number != callee {
					t.Errorf("sim recorded %+v, want outcome %s", rec, tt.simEnd)
				}
				if spoke := len(rec.Spoken) > 0; spoke != tt.spoken {
					t.Errorf("spoken %q, want speech %v", rec.Spoken, tt.spoken)
				} else if spoke && rec.Spoken[0] != "Tocsin alert 42. Press 4 to acknowledge." {
					t.Errorf("spoke %q", rec.Spoken[0])
				}
				if rec.Tones != tt.tones {
					t.Errorf("played %d tones, want %d", rec.Tones, tt.tones)
				}
				kinds := []string{}
				for _, e := range res.Events {
					kinds = append(kinds, e.Kind)
				}
				if kinds[0] != "dialled" || kinds[len(kinds)-1] != "ended" || tt.answered != slices.Contains(kinds, "answered") {
					t.Errorf("events %v", kinds)
				}
			})
		})
	}
}

// SMS go out while a call rings; the call is not disturbed.
func TestSMSDuringCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{SendDelay: 200 * time.Millisecond}, modem.Options{})
		sim.ScriptCall(modemsim.CallScript{Answer: true, RingFor: 10 * time.Second, Keys: "4"})
		done := make(chan modem.CallResult, 1)
		go func() {
			var keys []byte
			res, err := m.Call(t.Context(), callee, modem.CallOptions{OnKey: ackKeys(&keys)})
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		time.Sleep(2 * time.Second) // fake clock: the phone is ringing now
		if _, err := m.SendSMS(t.Context(), "+819087654321", "level 2: boss"); err != nil {
			t.Fatal(err)
		}
		if s := <-sim.Sent(); s.Text != "level 2: boss" {
			t.Errorf("sent %q", s.Text)
		}
		if res := <-done; res.Keys != "4" {
			t.Errorf("call %+v", res)
		}
	})
}

func TestCallCancelledHangsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := m.Call(ctx, callee, modem.CallOptions{})
		if err != context.DeadlineExceeded {
			t.Errorf("got %v", err)
		}
		if rec := <-sim.CallEnded(); rec.Outcome != "no-answer" {
			t.Errorf("sim: %+v", rec)
		}
	})
}

func TestCallBadNumber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, m := bubbleRig(t, modemsim.Options{}, modem.Options{})
		for _, n := range []string{"", "+81 90", "123;ATH", "+819012345678;"} {
			if _, err := m.Call(t.Context(), n, modem.CallOptions{}); err == nil {
				t.Errorf("Call(%q) accepted", n)
			}
		}
	})
}

// A call from a known number can be rejected by the handler: the call-back
// acknowledgement.
func TestIncomingCallRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, m := bubbleRig(t, modemsim.Options{}, modem.Options{})
		got := make(chan string, 10)
		m.OnIncomingCall(func(ctx context.Context, number string) {
			if err := m.HangUp(ctx); err != nil {
				t.Error(err)
			}
			got <- number
		})
		if err := sim.InjectCall(callee); err != nil {
			t.Fatal(err)
		}
		if n := <-got; n != callee {
			t.Errorf("caller %q", n)
		}
		rec := <-sim.CallEnded()
		if !rec.Incoming || rec.Outcome != "rejected" {
			t.Errorf("sim: %+v", rec)
		}
	})
}

func TestProfileDetection(t *testing.T) {
	for _, tc := range []struct{ model, want string }{
		{"SIMCOM_SIM7600G-H", "sim7600"}, {"EC25", "ec25"}, {"SIM800", "sim800"}, {"Generic LTE", "generic"},
	} {
		synctest.Test(t, func(t *testing.T) {
			_, m := bubbleRig(t, modemsim.Options{Model: tc.model}, modem.Options{})
			if got := m.Profile().Name; got != tc.want {
				t.Errorf("%s: profile %s, want %s", tc.model, got, tc.want)
			}
		})
	}
	synctest.Test(t, func(t *testing.T) {
		_, m := bubbleRig(t, modemsim.Options{Model: "EC25"}, modem.Options{Profile: "sim800"})
		if got := m.Profile().Name; got != "sim800" {
			t.Errorf("configured profile overridden: %s", got)
		}
	})
}
