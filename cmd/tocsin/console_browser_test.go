package main

import (
	"context"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tocsin-relay/tocsin/escalation"
)

// findChromium returns Debian's chromium (or another Chromium build on
// PATH), or "" when there is none.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// consoleDaemon starts the built daemon with the built-in modem simulator
// (so the simulated phones exist), simulated GPIO, the demo policy and
// the demo's console logins.
func consoleDaemon(t *testing.T) *e2e {
	t.Helper()
	e := newE2E(t, string(demoPolicy))
	cfg := fmt.Sprintf(`state_dir: %s
policy_file: %s
http:
  listen: "%s"
  tokens:
    - {name: test, token: %s}
    - {name: display, token: display-token, read_only: true}
  users:
    - {name: demo, password: demo}
    - {name: wall, password: wall, read_only: true}
    - {name: lead, password_file: %s}
modem:
  device: sim
  profile: sim7600
  sms_per_minute: 20   # tanaka gets three pages and a confirmation within the minute
gpio:
  backend: sim
  outputs:
    - {id: siren-1, pin: GPIO17, zone: line1, kind: siren}
    - {id: red-1,   pin: GPIO27, zone: line1, kind: light}
    - {id: status,  pin: GPIO5,  kind: status}
  inputs:
    - {id: ack-1,     pin: GPIO22, zone: line1, action: ack,     pull: up, active_low: true}
    - {id: silence-1, pin: GPIO23, zone: line1, action: silence, pull: up, active_low: true}
log:
  level: debug
`, filepath.Join(e.dir, "state"), filepath.Join(e.dir, "policy.yaml"), e.addr, e.token, filepath.Join(e.dir, "lead.pass"))
	if err := os.WriteFile(filepath.Join(e.dir, "lead.pass"), []byte("shift-lead-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start()
	return e
}

// The web console in headless Chromium against the real daemon: log in,
// see a new incident appear without reloading, acknowledge it by click,
// see the timeline entry, and acknowledge another with a reply from a
// simulated phone. Screenshots of every page are test artefacts (go test
// -artifacts keeps them); TOCSIN_CONSOLE_SCREENSHOT=FILE also writes the
// incidents page there (docs/console-incidents.png for the README).
func TestConsoleInBrowser(t *testing.T) {
	chromium := findChromium()
	needs.That(t, chromium != "", "browser", "chromium is not installed (Debian package chromium)")
	e := consoleDaemon(t)
	base := "http://" + e.addr
	shots := t.ArtifactDir()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v\ndaemon log:\n%s", what, err, e.logText())
		}
	}
	shot := func(name string) []byte {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		return png
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	// waitFor polls a JavaScript predicate in the page (no sleeps).
	waitFor := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v\npage: %s\ndaemon log:\n%s", what, err, eval(`document.body.innerText`), e.logText())
		}
	}

	// 1. Log in.
	do("open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`#login-user`))
	shot("login")
	do("log in",
		chromedp.SendKeys(`#login-user input[name=user]`, "demo"),
		chromedp.SendKeys(`#login-user input[name=password]`, "demo"),
		chromedp.Submit(`#login-user`),
		chromedp.WaitVisible(`main[data-page=incidents]`),
		chromedp.WaitVisible(`#live.on`), // the event stream is connected
	)

	// 2. A new incident appears live, without a reload: a marker set in
	// the page survives.
	eval(`window.tocsinMarker = "still here"; "ok"`)
	posted := time.Now()
	first := e.alert(map[string]any{"service": "press-line-1", "summary": "Hydraulic pressure low",
		"severity": "critical", "source": "plc-3"})
	row := fmt.Sprintf(`#incident-%d`, first.IncidentID)
	do("see the incident appear", chromedp.WaitVisible(row+`[data-status=triggered]`))
	t.Logf("a new incident showed %s after the alert was posted", time.Since(posted).Round(time.Millisecond))
	e.alert(map[string]any{"service": "press-line-1", "summary": "Oil temperature high", "severity": "warning", "source": "plc-4"})
	if got := eval(`window.tocsinMarker || "reloaded"`); got != "still here" {
		t.Errorf("the page reloaded to show the incident (marker %q)", got)
	}
	waitFor("who was paged", fmt.Sprintf(`document.querySelector(%q)?.innerText.includes("田中 太郎")`, row+` .paged .page-sent`))
	shot("incidents-live")

	// 3. Acknowledge it by click; the row changes in place.
	do("acknowledge by click", chromedp.Click(row+` button.ack`), chromedp.WaitVisible(row+`[data-status=acknowledged]`))
	if inc := e.incident(first.IncidentID); inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "demo" {
		t.Errorf("after the click: %s by %q, want acknowledged by demo", inc.Status, inc.AcknowledgedBy)
	}

	// 4. The timeline says who acknowledged, and how.
	do("open the incident", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", base, first.IncidentID)),
		chromedp.WaitVisible(`ol.timeline li.tl-acknowledged`))
	if text := eval(`document.querySelector("ol.timeline li.tl-acknowledged").innerText`); !strings.Contains(text, "demo") || !strings.Contains(text, "console") {
		t.Errorf("timeline entry = %q, want acknowledged by demo via console", text)
	}
	shot("incident")

	// 5. A third incident; tanaka's simulated phone receives its page and
	// he replies "4" from the page. The reply travels through the modem
	// simulator and the serial line like a real SMS.
	second := e.alert(map[string]any{"service": "press-line-1", "summary": "Conveyor jam at station 4", "severity": "error"})
	do("open the phones", chromedp.Navigate(base+"/phones"), chromedp.WaitVisible(`#live.on`))
	phone := `section[data-phone="tanaka"]`
	tag := fmt.Sprintf("#%d", second.IncidentID)
	waitFor("the page on tanaka's phone", fmt.Sprintf(`[...document.querySelectorAll(%q)].some(li => li.innerText.includes(%q))`, phone+` li.in`, tag))
	do("reply 4", chromedp.Click(phone+` button[data-reply="4"]`))
	waitFor("the confirmation SMS", fmt.Sprintf(`[...document.querySelectorAll(%q)].some(li => li.innerText.includes(%q) && li.innerText.includes("了解"))`, phone+` li.in`, tag+" を"))
	shot("phones")
	inc := e.incident(second.IncidentID)
	if inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "tanaka" {
		t.Errorf("after tanaka's reply: %s by %q, want acknowledged by tanaka", inc.Status, inc.AcknowledgedBy)
	}
	do("see it acknowledged in the list", chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(fmt.Sprintf(`#incident-%d[data-status=acknowledged]`, second.IncidentID)))

	// Resolve the first by click; it moves to "recently resolved". A new
	// critical alarm arrives meanwhile: the incidents page as an operator
	// sees it on a busy shift.
	do("resolve by click", chromedp.Click(row+` button.resolve`), chromedp.WaitVisible(`ul.resolved `+row+`[data-status=resolved]`))
	latest := e.alert(map[string]any{"service": "press-line-1", "summary": "Die temperature high", "severity": "critical", "source": "plc-7"})
	waitFor("the new alarm paged", fmt.Sprintf(`document.querySelector("#incident-%d .paged .page-sent")`, latest.IncidentID))
	eval(`document.querySelectorAll(".flash").forEach(el => el.classList.remove("flash")); "ok"`)
	png := shot("incidents")
	if dst := os.Getenv("TOCSIN_CONSOLE_SCREENSHOT"); dst != "" {
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A button press on the floor (the simulated ack button of zone
	// line1) shows on the open page by itself.
	pressed := time.Now()
	if code := e.api("POST", "/api/v1/gpio/inputs/ack-1/press", nil, nil); code != 200 {
		t.Fatalf("pressing ack-1 = %d", code)
	}
	do("see the button's acknowledgement", chromedp.WaitVisible(fmt.Sprintf(`#incident-%d[data-status=acknowledged]`, latest.IncidentID)))
	took := time.Since(pressed)
	t.Logf("a button press showed %s after it was pressed", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("a button press took %s to show; want well under a second", took)
	}

	// 6. The other pages, for the record (and for people reviewing them).
	for _, p := range []struct{ path, ready, name, want string }{
		{"/oncall", `section.schedule`, "oncall", "line1-oncall"},
		{"/health", `#modem`, "health", "SIM7600"},
		{"/policy", `ol.levels`, "policy", "boss"},
	} {
		do("open "+p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.ready))
		if text := eval(`document.querySelector("main").innerText`); !strings.Contains(text, p.want) {
			t.Errorf("%s shows %q, want it to mention %q", p.path, text, p.want)
		}
		shot(p.name)
	}
	// On a phone screen, in Japanese.
	do("phone-sized, Japanese", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/lang/ja?next=/"),
		chromedp.WaitVisible(`main[data-page=incidents]`))
	if text := eval(`document.querySelector("main h1").innerText`); !strings.Contains(text, "未解決") {
		t.Errorf("Japanese heading = %q", text)
	}
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the incidents page is %spx wide on a 390px phone screen; want no sideways scrolling", w)
	}
	shot("incidents-phone-ja")
}
