package modem

import "github.com/warthog618/sms/encoding/gsm7/charset"

// The sms module (v0.3.0) builds its GSM 7-bit character tables lazily, on
// first use, without synchronisation, so two goroutines encoding or
// decoding for the first time at once race (the race detector caught the
// simulator's decoder against the modem's). Building every table here,
// during package initialisation, which runs on one goroutine before any of
// ours, leaves all later use read-only. Every program that sends or
// receives SMS through this package gets it.
var _ = warmCharsets()

func warmCharsets() bool {
	charset.DefaultDecoder()
	charset.DefaultEncoder()
	charset.DefaultExtEncoder()
	charset.DefaultExtDecoder()
	for nli := range 16 { // national language identifiers, 3GPP TS 23.038 §6.2.1.2.4
		charset.NewDecoder(nli)
		charset.NewEncoder(nli)
		charset.NewExtDecoder(nli)
		charset.NewExtEncoder(nli)
	}
	return true
}
