package escalation

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidNumber is wrapped by every error NormalizeNumber returns, so
// callers can tell a bad number from other failures with errors.Is.
var ErrInvalidNumber = errors.New("invalid phone number")

// numberPlan is what NormalizeNumber needs to know about one country: its
// calling code, the trunk prefix dialled before national numbers (dropped in
// E.164), the international prefix dialled before a country code besides
// "00", and the length of its national significant numbers.
type numberPlan struct {
	cc     string
	trunk  string // "" when the country has none (or keeps it, as Italy does)
	idd    string // international prefix other than "00", if any
	minNSN int
	maxNSN int
	// long lists national prefixes whose numbers always have maxNSN
	// digits (Japanese mobiles), so that a dropped digit is caught.
	long []string
}

// numberPlans maps ISO 3166 alpha-2 regions to their numbering plans. The
// lengths are loose bounds on the national significant number: they catch
// typos and truncated numbers, not every unallocated range.
var numberPlans = map[string]numberPlan{
	"JP": {cc: "81", trunk: "0", idd: "010", minNSN: 9, maxNSN: 10, long: []string{"20", "50", "60", "70", "80", "90"}},
	"US": {cc: "1", trunk: "1", idd: "011", minNSN: 10, maxNSN: 10},
	"CA": {cc: "1", trunk: "1", idd: "011", minNSN: 10, maxNSN: 10},
	"GB": {cc: "44", trunk: "0", minNSN: 9, maxNSN: 10},
	"IE": {cc: "353", trunk: "0", minNSN: 7, maxNSN: 9},
	"DE": {cc: "49", trunk: "0", minNSN: 6, maxNSN: 13},
	"AT": {cc: "43", trunk: "0", minNSN: 4, maxNSN: 13},
	"CH": {cc: "41", trunk: "0", minNSN: 9, maxNSN: 9},
	"FR": {cc: "33", trunk: "0", minNSN: 9, maxNSN: 9},
	"BE": {cc: "32", trunk: "0", minNSN: 8, maxNSN: 9},
	"NL": {cc: "31", trunk: "0", minNSN: 9, maxNSN: 9},
	"IT": {cc: "39", minNSN: 6, maxNSN: 11}, // the leading 0 is part of the number
	"ES": {cc: "34", minNSN: 9, maxNSN: 9},
	"PT": {cc: "351", minNSN: 9, maxNSN: 9},
	"SE": {cc: "46", trunk: "0", minNSN: 7, maxNSN: 9},
	"NO": {cc: "47", minNSN: 8, maxNSN: 8},
	"DK": {cc: "45", minNSN: 8, maxNSN: 8},
	"FI": {cc: "358", trunk: "0", minNSN: 5, maxNSN: 12},
	"PL": {cc: "48", minNSN: 9, maxNSN: 9},
	"CZ": {cc: "420", minNSN: 9, maxNSN: 9},
	"RU": {cc: "7", trunk: "8", idd: "810", minNSN: 10, maxNSN: 10},
	"CN": {cc: "86", trunk: "0", minNSN: 7, maxNSN: 11},
	"HK": {cc: "852", idd: "001", minNSN: 8, maxNSN: 8},
	"TW": {cc: "886", trunk: "0", idd: "002", minNSN: 8, maxNSN: 9},
	"KR": {cc: "82", trunk: "0", idd: "001", minNSN: 8, maxNSN: 10},
	"SG": {cc: "65", idd: "001", minNSN: 8, maxNSN: 8},
	"MY": {cc: "60", trunk: "0", minNSN: 8, maxNSN: 10},
	"TH": {cc: "66", trunk: "0", idd: "001", minNSN: 8, maxNSN: 9},
	"VN": {cc: "84", trunk: "0", minNSN: 9, maxNSN: 10},
	"PH": {cc: "63", trunk: "0", minNSN: 8, maxNSN: 10},
	"ID": {cc: "62", trunk: "0", idd: "001", minNSN: 8, maxNSN: 12},
	"IN": {cc: "91", trunk: "0", minNSN: 10, maxNSN: 10},
	"AU": {cc: "61", trunk: "0", idd: "0011", minNSN: 9, maxNSN: 9},
	"NZ": {cc: "64", trunk: "0", minNSN: 8, maxNSN: 10},
	"BR": {cc: "55", trunk: "0", minNSN: 10, maxNSN: 11},
	"MX": {cc: "52", minNSN: 10, maxNSN: 10},
	"ZA": {cc: "27", trunk: "0", minNSN: 9, maxNSN: 9},
}

// plansByCC maps calling codes to a plan, for numbers given in
// international form. Countries sharing a code (US and CA) share a plan.
var plansByCC = func() map[string]numberPlan {
	m := make(map[string]numberPlan)
	for _, p := range numberPlans {
		m[p.cc] = p
	}
	return m
}()

// KnownRegion reports whether NormalizeNumber knows the numbering plan of
// region (ISO 3166 alpha-2, any case).
func KnownRegion(region string) bool {
	_, ok := numberPlans[strings.ToUpper(strings.TrimSpace(region))]
	return ok
}

// NormalizeNumber returns raw in E.164 form ("+819012345678"). It accepts
// the ways people write numbers in a policy file or an SMS header:
// international ("+81 90-1234-5678", "+44 (0)20 7946 0958"), with an
// international prefix ("0081 90 1234 5678", "011 1 415 555 0100" in the
// US), and national ("090-1234-5678", read with region). Full-width digits
// and separators are folded. region is an ISO 3166 alpha-2 code such as
// "JP"; it is needed only for national numbers. Every error wraps
// ErrInvalidNumber and says what is wrong.
func NormalizeNumber(raw, region string) (string, error) {
	digits, intl, err := numberDigits(raw)
	if err != nil {
		return "", err
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	plan, havePlan := numberPlans[region]
	if !intl {
		switch {
		case havePlan && plan.idd != "" && strings.HasPrefix(digits, plan.idd):
			digits, intl = digits[len(plan.idd):], true
		case strings.HasPrefix(digits, "00"):
			digits, intl = digits[2:], true
		}
	}
	if intl {
		return internationalNumber(raw, digits)
	}
	if region == "" {
		return "", fmt.Errorf("%w %q: a national number needs a region (settings.default_region) or a leading +country code", ErrInvalidNumber, raw)
	}
	if !havePlan {
		return "", fmt.Errorf("%w %q: unknown region %q (want an ISO 3166 code such as JP, US or DE)", ErrInvalidNumber, raw, region)
	}
	nsn := digits
	if plan.trunk != "" && strings.HasPrefix(nsn, plan.trunk) && len(nsn) > plan.maxNSN {
		nsn = nsn[len(plan.trunk):]
	} else if plan.trunk == "0" && strings.HasPrefix(nsn, "0") {
		nsn = nsn[1:]
	}
	if err := checkNSN(raw, plan, nsn); err != nil {
		return "", err
	}
	return "+" + plan.cc + nsn, nil
}

// internationalNumber finishes a number given with its country code.
func internationalNumber(raw, digits string) (string, error) {
	if digits == "" {
		return "", fmt.Errorf("%w %q: no digits after the international prefix", ErrInvalidNumber, raw)
	}
	if digits[0] == '0' {
		return "", fmt.Errorf("%w %q: a country code cannot start with 0", ErrInvalidNumber, raw)
	}
	for n := 1; n <= 3 && n < len(digits); n++ {
		plan, ok := plansByCC[digits[:n]]
		if !ok {
			continue
		}
		nsn := digits[n:]
		// "+81 090..." and "+44 (0)20...": a trunk 0 written after the
		// country code is never part of the number in these plans.
		if plan.trunk == "0" && strings.HasPrefix(nsn, "0") {
			nsn = nsn[1:]
		}
		if err := checkNSN(raw, plan, nsn); err != nil {
			return "", err
		}
		return "+" + plan.cc + nsn, nil
	}
	if len(digits) < 7 || len(digits) > 15 {
		return "", fmt.Errorf("%w %q: %d digits with the country code, want 7 to 15", ErrInvalidNumber, raw, len(digits))
	}
	return "+" + digits, nil
}

func checkNSN(raw string, plan numberPlan, nsn string) error {
	if n := len(nsn); n < plan.minNSN || n > plan.maxNSN {
		want := fmt.Sprintf("%d", plan.minNSN)
		if plan.maxNSN != plan.minNSN {
			want = fmt.Sprintf("%d to %d", plan.minNSN, plan.maxNSN)
		}
		return fmt.Errorf("%w %q: %d digits after country code +%s, want %s", ErrInvalidNumber, raw, n, plan.cc, want)
	}
	for _, p := range plan.long {
		if strings.HasPrefix(nsn, p) && len(nsn) != plan.maxNSN {
			return fmt.Errorf("%w %q: %d digits after country code +%s, want %d for numbers starting %s", ErrInvalidNumber, raw, len(nsn), plan.cc, plan.maxNSN, p)
		}
	}
	if len(plan.cc)+len(nsn) > 15 {
		return fmt.Errorf("%w %q: longer than the 15 digits E.164 allows", ErrInvalidNumber, raw)
	}
	return nil
}

// numberDigits folds widths, drops separators and reports whether the
// number started with "+". "(0)" after a country code is dropped too.
func numberDigits(raw string) (digits string, intl bool, err error) {
	s := strings.TrimSpace(foldWidth(raw))
	if s == "" {
		return "", false, fmt.Errorf("%w: empty", ErrInvalidNumber)
	}
	if strings.HasPrefix(s, "+") {
		intl = true
		s = strings.Replace(s[1:], "(0)", "", 1)
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case isNumberSeparator(r):
		case r == '+':
			return "", false, fmt.Errorf("%w %q: + is allowed only at the start", ErrInvalidNumber, raw)
		default:
			return "", false, fmt.Errorf("%w %q: unexpected character %q", ErrInvalidNumber, raw, r)
		}
	}
	if b.Len() == 0 {
		return "", false, fmt.Errorf("%w %q: no digits", ErrInvalidNumber, raw)
	}
	return b.String(), intl, nil
}

func isNumberSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '-', '.', '(', ')', '/',
		'\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', // dashes, minus
		'\u30fc', '\uff70': // ー and ｰ, often typed as a dash in Japanese
		return true
	}
	return false
}

// foldWidth maps full-width ASCII (U+FF01..U+FF5E) and the ideographic
// space to their ASCII forms. It is the part of NFKC that matters for
// numbers and replies typed on Japanese phones, done by hand because the
// package imports only the standard library.
func foldWidth(s string) string {
	needs := false
	for _, r := range s {
		if (r >= '\uff01' && r <= '\uff5e') || r == '\u3000' {
			needs = true
			break
		}
	}
	if !needs {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '\uff01' && r <= '\uff5e':
			return r - 0xfee0
		case r == '\u3000':
			return ' '
		}
		return r
	}, s)
}

// SameNumber reports whether a and b are the same phone number, written in
// any form NormalizeNumber accepts; national forms are read with region.
// Modems sometimes report a sender as bare digits with the country code
// ("819012345678"), so a digits-only number that is not a valid national
// number is tried as international. A number that is invalid in every
// reading matches nothing, not even itself.
func SameNumber(a, b, region string) bool {
	as, bs := numberForms(a, region), numberForms(b, region)
	for _, x := range as {
		for _, y := range bs {
			if x == y {
				return true
			}
		}
	}
	return false
}

func numberForms(raw, region string) []string {
	if n, err := NormalizeNumber(raw, region); err == nil {
		return []string{n}
	}
	if digits, intl, err := numberDigits(raw); err == nil && !intl && digits[0] != '0' {
		if n, err := NormalizeNumber("+"+digits, ""); err == nil {
			return []string{n}
		}
	}
	return nil
}
