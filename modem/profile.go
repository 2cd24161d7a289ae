package modem

import (
	"context"
	"fmt"
	"strings"
)

// Profile describes the AT dialect of one module family: how DTMF key
// detection is switched on and reported, whether the module can speak text
// during a call, and its quirks. See firmware-notes/ for the sources.
type Profile struct {
	Name string
	// DTMFEnable switches key detection on. When DTMFPerCall is set it is
	// sent after each call is answered (Quectel), else once before dialling.
	DTMFEnable  string
	DTMFPerCall bool
	// DTMFURC is the prefix of the key report, e.g. "+DTMF:"; empty means
	// the profile cannot report keys, so calls cannot be acknowledged.
	DTMFURC string
	// TTS formats the command that speaks ASCII text into the call; nil
	// means no on-module speech (a tone pattern is played instead).
	TTS func(text string) string
	// Notes is a one-line summary shown by `tocsin modem probe`.
	Notes string
}

// Profiles known to Tocsin, by config name.
var Profiles = map[string]Profile{
	"generic": {
		Name:  "generic",
		Notes: "3GPP commands only: SMS, calls without key detection or speech",
	},
	"sim7600": {
		Name:       "sim7600",
		DTMFEnable: "AT+DDET=1",
		DTMFURC:    "+RXDTMF:",
		TTS:        func(t string) string { return `AT+CTTS=2,"` + t + `"` },
		Notes:      "SIMCom SIM7600: DTMF via +RXDTMF, speech via AT+CTTS; voice on LTE needs VoLTE firmware",
	},
	"ec25": {
		Name:        "ec25",
		DTMFEnable:  "AT+QTONEDET=1",
		DTMFPerCall: true,
		DTMFURC:     "+QTONEDET:",
		TTS:         func(t string) string { return `AT+QTTS=2,"` + t + `"` },
		Notes:       "Quectel EC25/EG25: DTMF via AT+QTONEDET per call, speech via AT+QTTS; voice on LTE needs VoLTE firmware",
	},
	"sim800": {
		Name:       "sim800",
		DTMFEnable: "AT+DDET=1",
		DTMFURC:    "+DTMF:",
		Notes:      "SIMCom SIM800 (2G only: cannot register in Japan): DTMF via AT+DDET, no speech",
	},
}

// ProfileFor returns the named profile; an unknown name is an error.
func ProfileFor(name string) (Profile, error) {
	if name == "" {
		name = "generic"
	}
	p, ok := Profiles[strings.ToLower(name)]
	if !ok {
		return Profile{}, fmt.Errorf("modem: unknown profile %q (want generic, sim7600, ec25 or sim800)", name)
	}
	return p, nil
}

// DetectProfile picks a profile from the model (AT+CGMM) and ATI text.
func DetectProfile(model string) Profile {
	m := strings.ToUpper(model)
	switch {
	case strings.Contains(m, "SIM7600") || strings.Contains(m, "SIM7500") || strings.Contains(m, "SIM7000") || strings.Contains(m, "A7600"):
		return Profiles["sim7600"]
	case strings.Contains(m, "EC25") || strings.Contains(m, "EG25") || strings.Contains(m, "EC21") || strings.Contains(m, "EG21") || strings.Contains(m, "EC20"):
		return Profiles["ec25"]
	case strings.Contains(m, "SIM800") || strings.Contains(m, "SIM900") || strings.Contains(m, "SIM808"):
		return Profiles["sim800"]
	}
	return Profiles["generic"]
}

// Profile returns the profile in use: the one named in Options.Profile, or
// the one detected from the model during Init when that was empty or
// "auto".
func (m *Modem) Profile() Profile {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.profile
}

// detectProfile sets the profile after Init.
func (m *Modem) detectProfile(ctx context.Context) {
	name := strings.ToLower(m.opts.Profile)
	if name != "" && name != "auto" {
		p, err := ProfileFor(name)
		if err == nil {
			m.mu.Lock()
			m.profile = p
			m.mu.Unlock()
			return
		}
	}
	var text string
	for _, c := range []string{"AT+CGMM", "ATI"} {
		if lines, err := m.Command(ctx, c); err == nil {
			text += strings.Join(lines, " ") + " "
		}
	}
	p := DetectProfile(text)
	m.mu.Lock()
	m.profile = p
	m.mu.Unlock()
}
