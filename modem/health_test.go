package modem

import (
	"errors"
	"testing"
	"time"
)

func TestHealth(t *testing.T) {
	good := Info{SIM: "READY", Registration: Home}
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	var h Health
	steps := []struct {
		at     time.Duration
		info   Info
		err    error
		ok     bool
		down   bool
		reason string
	}{
		{0, good, nil, true, false, ""},
		{time.Minute, Info{SIM: "READY", Registration: Searching}, nil, false, false, "not registered (searching)"},
		{5 * time.Minute, Info{SIM: "READY", Registration: Denied}, nil, false, false, "not registered (denied)"},
		{6 * time.Minute, Info{SIM: "not inserted"}, nil, false, true, "SIM not inserted"},
		{7 * time.Minute, good, nil, true, false, ""},
		{8 * time.Minute, Info{}, errors.New("timeout"), false, false, "modem not answering: timeout"},
		{13 * time.Minute, Info{}, errors.New("timeout"), false, true, "modem not answering: timeout"},
		{14 * time.Minute, Info{SIM: "READY", Registration: Roaming}, nil, true, false, ""},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		ok, reason := h.Observe(now, s.info, s.err)
		down, _, dreason := h.Down(now)
		if ok != s.ok || reason != s.reason || down != s.down || (!ok && dreason != reason) {
			t.Errorf("at %v: ok %v %q down %v %q; want ok %v %q down %v", s.at, ok, reason, down, dreason, s.ok, s.reason, s.down)
		}
	}
}
