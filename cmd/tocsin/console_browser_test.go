package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation/console"
	"github.com/tocsin-relay/tocsin/internal/needs"

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
	// lead's password file holds its bcrypt hash, written by `tocsin
	// passwd` as an installer would (demo and wall: the password itself).
	passwd := exec.Command(tocsinBin, "passwd", filepath.Join(e.dir, "lead.pass"))
	passwd.Stdin = strings.NewReader("shift-lead-secret\n")
	if out, err := passwd.CombinedOutput(); err != nil {
		t.Fatalf("tocsin passwd: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(e.dir, "lead.pass")); !console.IsPasswordHash(strings.TrimSpace(string(b))) {
		t.Fatalf("tocsin passwd wrote %q, want a bcrypt hash", b)
	}
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start()
	return e
}

// The web console in headless Chromium against the real daemon: log in,
// see a new incident appear without reloading, see who was paged and how
// it went in words and what happens next, acknowledge it by click, see
// the timeline entry, acknowledge another with a reply from a simulated
// phone, resolve with a confirmation. Then the incident, health and
// policy pages at 1440×900 and 390×844 in English and Japanese: no
// sideways scrolling on a phone, no English words left in Japanese.
// Screenshots of every page are test artefacts (go test -artifacts keeps
// them); TOCSIN_CONSOLE_DOCS=DIR also writes the README's screenshots
// there (docs/console-incidents.png, docs/console-incident-ja-390.png,
// docs/console-health-ja-390.png).
func TestConsoleInBrowser(t *testing.T) {
	chromium := findChromium()
	needs.That(t, chromium != "", "browser", "chromium is not installed (Debian package chromium)")
	e := consoleDaemon(t)
	base := "http://" + e.addr
	shots := t.ArtifactDir()

	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
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
		chromedp.WindowSize(1440, 900),
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
	docs := os.Getenv("TOCSIN_CONSOLE_DOCS")
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
	// docShot writes a screenshot for the README when asked to.
	docShot := func(name string) {
		t.Helper()
		png := shot(name)
		if docs == "" {
			return
		}
		if err := os.WriteFile(filepath.Join(docs, "console-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
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
	// click clicks a button as one step inside the page: live updates
	// replace the page's nodes at any moment, and a click driven from
	// outside can find its node gone between finding and clicking it.
	click := func(what, sel string) {
		t.Helper()
		waitFor(what, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
		if got := eval(fmt.Sprintf(`(() => { const b = document.querySelector(%q); if (!b) return "gone"; b.click(); return "ok"; })()`, sel)); got != "ok" {
			t.Fatalf("%s: %s is %s", what, sel, got)
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
	// Sent, then delivered when the network's report comes (the
	// simulator reports 200 ms after the send).
	paged := row + ` .paged :is(.page-sent, .page-delivered)`
	waitFor("who was paged", fmt.Sprintf(`document.querySelector(%q)?.innerText.includes("田中 太郎")`, paged))
	// In words, not only in colour: "田中 太郎 SMS sent" (or delivered).
	if text := eval(fmt.Sprintf(`document.querySelector(%q).innerText`, paged)); !strings.Contains(text, "SMS") || !strings.Contains(text, "sent") && !strings.Contains(text, "delivered") {
		t.Errorf("the page to 田中 reads %q, want its channel and state in words", text)
	}
	// What happens next, when, and a countdown that ticks.
	next := regexp.MustCompile(`^next: .+ by SMS at \d\d:\d\d:\d\d JST \(in \d+m(\d\ds)?\)$`)
	text := eval(fmt.Sprintf(`document.querySelector(%q).innerText`, row+` p.next`))
	if !next.MatchString(text) {
		t.Errorf("the next step reads %q, want %v", text, next)
	}
	waitFor("the countdown to tick", fmt.Sprintf(`document.querySelector(%q).innerText !== %q`, row+` p.next .countdown`,
		eval(fmt.Sprintf(`document.querySelector(%q).innerText`, row+` p.next .countdown`))))
	waitFor("the count of unacknowledged incidents in the tab title", `document.title.startsWith("(2) ")`)
	// The alarm sound of a wall display is off until asked for, and the
	// browser remembers the choice.
	if got := eval(`document.getElementById("sound-toggle").getAttribute("aria-pressed")`); got != "false" {
		t.Errorf("the alarm sound is on (%s) before anyone asked for it", got)
	}
	do("turn the sound on", chromedp.Click(`#sound-toggle`))
	do("reload", chromedp.Reload(), chromedp.WaitVisible(`#live.on`))
	if got := eval(`document.getElementById("sound-toggle").getAttribute("aria-pressed") + " " + localStorage.getItem("tocsin.sound")`); got != "true on" {
		t.Errorf("after a reload the sound toggle reads %q, want it still on", got)
	}
	do("turn the sound off", chromedp.Click(`#sound-toggle`))
	shot("incidents-live")

	// 3. Acknowledge it by click; the row changes in place.
	click("acknowledge by click", row+` button.ack`)
	do("see it acknowledged", chromedp.WaitVisible(row+`[data-status=acknowledged]`))
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
	click("reply 4", phone+` button[data-reply="4"]`)
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
	// Resolving asks again on the button itself: one click arms it.
	click("resolve: first click", row+` button.resolve`)
	waitFor("Resolve to ask again", fmt.Sprintf(`document.querySelector(%q)?.innerText === "Really resolve?"`, row+` button.resolve.armed`))
	if inc := e.incident(first.IncidentID); inc.Status != escalation.Acknowledged {
		t.Errorf("one click on Resolve made the incident %s; want it to ask first", inc.Status)
	}
	click("resolve: confirm", row+` button.resolve.armed`)
	do("see it resolved", chromedp.WaitVisible(`ul.resolved `+row+`[data-status=resolved]`))
	latest := e.alert(map[string]any{"service": "press-line-1", "summary": "Die temperature high", "severity": "critical", "source": "plc-7"})
	waitFor("the new alarm paged", fmt.Sprintf(`document.querySelector("#incident-%d .paged :is(.page-sent, .page-delivered)")`, latest.IncidentID))
	eval(`document.querySelectorAll(".flash").forEach(el => el.classList.remove("flash")); "ok"`)
	docShot("incidents")

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
	// A fresh alarm: its page has gone out, level 2 is next.
	fresh := e.alert(map[string]any{"service": "press-line-1", "summary": "Die temperature high", "severity": "critical", "source": "plc-7"})
	freshPath := fmt.Sprintf("/incidents/%d", fresh.IncidentID)
	do("open the fresh incident", chromedp.Navigate(base+freshPath), chromedp.WaitVisible(`ol.timeline`))
	waitFor("its page delivered", `document.querySelector("table.pages tr.page-delivered td.state")`)

	// The incident, health and policy pages on a desk and on a phone, in
	// English and in Japanese.
	for _, lang := range []string{"en", "ja"} {
		for _, vp := range []struct{ w, h int64 }{{1440, 900}, {390, 844}} {
			do("viewport", chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(base+"/lang/"+lang+"?next="+freshPath),
				chromedp.WaitVisible(`table.pages`))
			for _, p := range []struct{ path, ready, name string }{
				{freshPath, `table.pages`, "incident"},
				{"/health", `#modem`, "health"},
				{"/policy", `ol.levels`, "policy"},
				{"/oncall", `section.schedule`, "oncall"},
			} {
				do("open "+p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.ready))
				name := fmt.Sprintf("%s-%s-%d", p.name, lang, vp.w)
				if w := eval(noSideways); w != "ok" {
					t.Errorf("%s: %s; want no sideways scrolling", name, w)
				}
				main := eval(`document.querySelector("main").innerText`)
				if p.name == "incident" {
					checkIncidentWords(t, name, lang, main)
				}
				if lang == "ja" {
					if words := englishWords(main, e.dir); len(words) > 0 {
						t.Errorf("%s: English words in Japanese: %v\n%s", name, words, main)
					}
				}
				switch {
				case vp.w == 390 && lang == "ja" && p.name != "policy":
					docShot(name)
				default:
					shot(name)
				}
			}
		}
	}
	do("incidents on a phone, Japanese", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`main[data-page=incidents]`))
	if text := eval(`document.querySelector("main h1").innerText`); !strings.Contains(text, "未解決") {
		t.Errorf("Japanese heading = %q", text)
	}
	if w := eval(noSideways); w != "ok" {
		t.Errorf("the incidents page on a phone: %s; want no sideways scrolling", w)
	}
	shot("incidents-ja-390")
}

// noSideways is "ok" when the page fits its window's width.
const noSideways = `document.documentElement.scrollWidth <= window.innerWidth ? "ok" :
	"the page is " + document.documentElement.scrollWidth + "px wide in a " + window.innerWidth + "px window"`

// checkIncidentWords checks that the incident page says each page's state
// in words and the next step with its time and countdown.
func checkIncidentWords(t *testing.T, name, lang, main string) {
	t.Helper()
	want := map[string][]*regexp.Regexp{
		"en": {regexp.MustCompile(`delivered\s+田中 太郎 · SMS`), regexp.MustCompile(`SMS to 田中 太郎 delivered to the handset at \d\d:\d\d:\d\d JST`), regexp.MustCompile(`next: .+ by SMS at \d\d:\d\d:\d\d JST \(in \d+m(\d\ds)?\)`),
			regexp.MustCompile(`SMS to 田中 太郎 \(\+819012345678\) sent`), regexp.MustCompile(`level 1 \(loop 1, policy v1\): 田中 太郎 by SMS, zone line1`)},
		"ja": {regexp.MustCompile(`着信確認済み\s+田中 太郎 · SMS`), regexp.MustCompile(`田中 太郎 の端末にSMSが届きました \(\d\d:\d\d:\d\d JST`), regexp.MustCompile(`次の呼び出し: .+ \(SMS\) \d\d:\d\d:\d\d JST \(あと\d+分(\d+秒)?\)`),
			regexp.MustCompile(`田中 太郎 \(\+819012345678\) へSMS送信`), regexp.MustCompile(`レベル1 \(1周目、ポリシー v1\): 田中 太郎 \(SMS\)、ゾーン line1`)},
	}
	for _, re := range want[lang] {
		if !re.MatchString(main) {
			t.Errorf("%s lacks %v:\n%s", name, re, main)
		}
	}
}

// englishWords are the words that must not be left in English on a
// Japanese page: states, terms of the incident, health and policy pages.
// Proper nouns, ids, numbers and the alerts' own summaries are not words
// a translation could change, so they are not looked at.
var englishWords = func() func(text, dir string) []string {
	banned := strings.Fields(`queued sending sent delivered failed cancelled acknowledged triggered resolved
		level loop next paged nobody service source created alerts alert timeline notifications name phone
		modem signal registration operator model device firmware since outbox waiting version uptime database
		engine daemon contacts services schedules escalation repeat rotation members settings interval
		heartbeats maintenance zone raised call answered reply button yes no up down critical warning info
		open incidents sound notify export weekly daily language outputs inputs pressed backend kind mode
		home roaming simulated ago in at by via minutes seconds hours modem ref attempt retrying region timeout`)
	word := regexp.MustCompile(`[A-Za-z]+`)
	// Names, ids and commands on these pages that happen to be English.
	literals := []string{"Die temperature high", "Hydraulic pressure low", "Oil temperature high", "Conveyor jam at station 4",
		"Suzuki Hanako", "Sato (manager)", "Tocsin itself", "GET /api/v1/policy", "tocsin policy export", "Asia/Tokyo"}
	return func(text, dir string) []string {
		text = strings.ReplaceAll(text, dir, "")
		for _, l := range literals {
			text = strings.ReplaceAll(text, l, "")
		}
		var found []string
		for _, w := range word.FindAllString(text, -1) {
			if slices.Contains(banned, strings.ToLower(w)) && !slices.Contains(found, w) {
				found = append(found, w)
			}
		}
		return found
	}
}()
