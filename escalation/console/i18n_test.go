package console

import (
	"net/http"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		header string
		want   lang
	}{
		{"", "en"},
		{"ja", "ja"},
		{"ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja"},
		{"en-US,en;q=0.9,ja;q=0.8", "en"},
		{"fr-FR,fr;q=0.9,ja;q=0.5", "ja"},
		{"ja;q=0, en", "en"},
		{"de", "en"},
		{"EN;q=0.2, JA;q=0.3", "ja"},
		{"*", "en"},
		{";;,,ja;q=abc", "ja"},
	}
	for _, tt := range tests {
		if got := negotiate(tt.header); got != tt.want {
			t.Errorf("negotiate(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestPickLangCookieWins(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "ja")
	r.AddCookie(&http.Cookie{Name: langCookie, Value: "en"})
	if got := pickLang(r); got != "en" {
		t.Errorf("pickLang with cookie en and Accept-Language ja = %q, want en", got)
	}
	r.Header.Del("Cookie")
	r.AddCookie(&http.Cookie{Name: langCookie, Value: "xx"})
	if got := pickLang(r); got != "ja" {
		t.Errorf("pickLang with a bad cookie = %q, want the header's ja", got)
	}
}

// Every UI text exists in both languages.
func TestMessagesComplete(t *testing.T) {
	for key := range messages["en"] {
		if _, ok := messages["ja"][key]; !ok {
			t.Errorf("ja lacks %q", key)
		}
	}
	for key := range messages["ja"] {
		if _, ok := messages["en"][key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
}

func FuzzParseAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "ja", "ja-JP,ja;q=0.9,en;q=0.8", "en;q=NaN", "*;q=2", ",,;", "x;q=-1", "zh-Hant-TW;q=0.001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		for _, r := range ParseAcceptLanguage(header) {
			if r.Q < 0 || r.Q > 1 || r.Q != r.Q {
				t.Errorf("weight %v out of [0, 1] for %q", r.Q, header)
			}
			if r.Tag == "" {
				t.Errorf("empty tag from %q", header)
			}
		}
		if l := negotiate(header); l != "en" && l != "ja" {
			t.Errorf("negotiate(%q) = %q", header, l)
		}
	})
}

func TestSafeNext(t *testing.T) {
	tests := map[string]string{
		"":                     "/",
		"/oncall":              "/oncall",
		"/incidents/3?x=1":     "/incidents/3?x=1",
		"//evil.example/":      "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"/a\r\nSet-Cookie: x":  "/",
	}
	for in, want := range tests {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignalBars(t *testing.T) {
	tests := map[int]int{0: 0, -113: 0, -105: 1, -90: 2, -80: 3, -60: 4}
	for dbm, want := range tests {
		if got := signalBars(dbm); got != want {
			t.Errorf("signalBars(%d) = %d, want %d", dbm, got, want)
		}
	}
}
