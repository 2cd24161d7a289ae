package escalation

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		raw, region, want string
	}{
		{"+819012345678", "", "+819012345678"},
		{"+81 90-1234-5678", "", "+819012345678"},
		{"+81 (0)90-1234-5678", "US", "+819012345678"},
		{"+81 090 1234 5678", "", "+819012345678"},
		{"090-1234-5678", "JP", "+819012345678"},
		{"090-1234-5678", "jp", "+819012345678"},
		{"(03) 1234-5678", "JP", "+81312345678"},
		{"0081 90 1234 5678", "JP", "+819012345678"},
		{"010 81 90 1234 5678", "JP", "+819012345678"},
		{"０９０－１２３４－５６７８", "JP", "+819012345678"},
		{"＋８１　９０ー１２３４ー５６７８", "", "+819012345678"},
		{"(415) 555-0100", "US", "+14155550100"},
		{"1-415-555-0100", "US", "+14155550100"},
		{"011 81 90 1234 5678", "US", "+819012345678"},
		{"415.555.0100", "CA", "+14155550100"},
		{"+44 (0)20 7946 0958", "", "+442079460958"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"030 123456", "DE", "+4930123456"},
		{"06 12 34 56 78", "FR", "+33612345678"},
		{"06 1234 5678", "IT", "+390612345678"}, // Italy keeps its 0
		{"+39 06 1234 5678", "", "+390612345678"},
		{"612 34 56 78", "ES", "+34612345678"},
		{"06-12345678", "NL", "+31612345678"},
		{"138 0013 8000", "CN", "+8613800138000"},
		{"010-1234-5678", "KR", "+821012345678"},
		{"0912-345-678", "TW", "+886912345678"},
		{"098765 43210", "IN", "+919876543210"},
		{"0412 345 678", "AU", "+61412345678"},
		{"0011 81 90 1234 5678", "AU", "+819012345678"},
		{"8 916 123-45-67", "RU", "+79161234567"},
		{"+380 44 123 4567", "", "+380441234567"}, // a country without a plan here
	}
	for _, tt := range tests {
		got, err := NormalizeNumber(tt.raw, tt.region)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeNumber(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
		}
	}
}

func TestNormalizeNumberErrors(t *testing.T) {
	tests := []struct {
		raw, region, wantMsg string
	}{
		{"", "JP", "empty"},
		{"   ", "JP", "empty"},
		{"090-1234-5678", "", "needs a region"},
		{"090-1234-5678", "XX", `unknown region "XX"`},
		{"03-1234-567", "JP", "8 digits after country code +81, want 9 to 10"},
		{"090-1234-567", "JP", "9 digits after country code +81, want 10 for numbers starting 90"},
		{"+81 90 1234 56789", "", "11 digits after country code +81, want 9 to 10"},
		{"090-1234-5678 ext 3", "JP", "unexpected character 'e'"},
		{"+81+90", "", "+ is allowed only at the start"},
		{"+0123456789", "", "cannot start with 0"},
		{"00", "JP", "no digits after the international prefix"},
		{"+380 12", "", "5 digits with the country code, want 7 to 15"},
		{"---", "JP", "no digits"},
		{"(415) 555-010", "US", "9 digits after country code +1, want 10"},
	}
	for _, tt := range tests {
		got, err := NormalizeNumber(tt.raw, tt.region)
		if err == nil {
			t.Errorf("NormalizeNumber(%q, %q) = %q, want an error", tt.raw, tt.region, got)
			continue
		}
		if !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("NormalizeNumber(%q, %q) error %v does not wrap ErrInvalidNumber", tt.raw, tt.region, err)
		}
		if !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("NormalizeNumber(%q, %q) error %q, want it to say %q", tt.raw, tt.region, err, tt.wantMsg)
		}
	}
}

func TestSameNumber(t *testing.T) {
	tests := []struct {
		a, b, region string
		want         bool
	}{
		{"+819012345678", "090-1234-5678", "JP", true},
		{"+819012345678", "819012345678", "JP", true}, // a modem dropping the +
		{"+819012345678", "09012345678", "JP", true},
		{"+819012345678", "０９０１２３４５６７８", "JP", true},
		{"+819012345678", "090-1234-5679", "JP", false},
		{"+14155550100", "(415) 555-0100", "US", true},
		{"+14155550100", "14155550100", "JP", true},
		{"+14155550100", "(415) 555-0100", "JP", false}, // read as a Japanese number
		{"garbage", "garbage", "JP", false},
		{"", "", "JP", false},
	}
	for _, tt := range tests {
		if got := SameNumber(tt.a, tt.b, tt.region); got != tt.want {
			t.Errorf("SameNumber(%q, %q, %q) = %v, want %v", tt.a, tt.b, tt.region, got, tt.want)
		}
		if got := SameNumber(tt.b, tt.a, tt.region); got != tt.want {
			t.Errorf("SameNumber(%q, %q, %q) = %v, want %v (swapped)", tt.b, tt.a, tt.region, got, tt.want)
		}
	}
}

func TestKnownRegion(t *testing.T) {
	for _, r := range []string{"JP", "jp", " us ", "GB", "DE"} {
		if !KnownRegion(r) {
			t.Errorf("KnownRegion(%q) = false, want true", r)
		}
	}
	for _, r := range []string{"", "XX", "JPN"} {
		if KnownRegion(r) {
			t.Errorf("KnownRegion(%q) = true, want false", r)
		}
	}
}

// FuzzNormalizeNumber checks that a number, once normalised, is E.164 and a
// fixed point: normalising it again (with any region) gives it back.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+819012345678", "090-1234-5678", "0081 90 1234 5678", "０９０－１２３４－５６７８",
		"(415) 555-0100", "+44 (0)20 7946 0958", "++", "(0)", "+", "0011", "8 916 123-45-67"} {
		f.Add(s, "JP")
		f.Add(s, "US")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		n, err := NormalizeNumber(raw, region)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) {
				t.Fatalf("error %v does not wrap ErrInvalidNumber", err)
			}
			return
		}
		if len(n) < 8 || len(n) > 16 || n[0] != '+' || n[1] == '0' {
			t.Fatalf("NormalizeNumber(%q, %q) = %q: not E.164", raw, region, n)
		}
		for _, r := range n[1:] {
			if r < '0' || r > '9' {
				t.Fatalf("NormalizeNumber(%q, %q) = %q: not E.164", raw, region, n)
			}
		}
		again, err := NormalizeNumber(n, "DE")
		if err != nil || again != n {
			t.Fatalf("NormalizeNumber(%q) = %q, %v; want a fixed point", n, again, err)
		}
		if !SameNumber(raw, n, region) {
			t.Fatalf("SameNumber(%q, %q, %q) = false", raw, n, region)
		}
	})
}
