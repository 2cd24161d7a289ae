package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/console"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

const testPolicy = `contacts:
  - {id: tanaka, name: 田中 太郎, phone: "090-1234-5678", language: ja}
  - {id: suzuki, name: Suzuki Hanako, phone: "+819087654321", language: en}
services:
  - {id: press-line-1, name: Press line 1, escalation_policy: line1}
schedules:
  - id: line1-oncall
    time_zone: Asia/Tokyo
    layers:
      - {rotation: weekly, start: "2026-11-02 09:00", members: [tanaka, suzuki]}
    overrides:
      - {contact: suzuki, start: "2099-12-01T18:00:00+09:00", end: "2099-12-02T09:00:00+09:00"}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: tanaka, via: [sms]}
          - {zone: line1}
      - after: 10m
        notify:
          - {schedule: line1-oncall, via: [sms]}
settings:
  default_region: JP
  time_zone: Asia/Tokyo
`

// fixture is a console on a real engine and a real SQLite database, served
// by httptest.
type fixture struct {
	t      testing.TB
	db     *sqlite.DB
	engine *escalation.Engine
	con    *console.Console
	srv    *httptest.Server
	sim    *modemsim.Sim
}

// wallHash is the bcrypt hash of wall's password "wall-pw", made once.
var wallHash = func() func(testing.TB) string {
	var (
		once sync.Once
		h    string
	)
	return func(t testing.TB) string {
		once.Do(func() {
			var err error
			if h, err = console.HashPassword("wall-pw"); err != nil {
				t.Fatal(err)
			}
		})
		return h
	}
}()

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policyfile.Load("policy.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := db.ApplyPolicy(ctx, pol, []byte(testPolicy), "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pol.Version = v.Version
	eng := escalation.NewEngine(db, pol, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		eng.Run(ctx)
	}()
	sim := modemsim.New(modemsim.Options{})
	f := &fixture{t: t, db: db, engine: eng, sim: sim}
	con, err := console.New(console.Options{
		Engine: eng,
		// demo's password is stored as itself (older configs), wall's as
		// its bcrypt hash (tocsin passwd, tocsin init).
		Users:  []console.Login{{Name: "demo", Secret: "demo-pw"}, {Name: "wall", Secret: wallHash(t), ReadOnly: true}},
		Tokens: []console.Login{{Name: "scada", Secret: "tok-scada"}, {Name: "display", Secret: "tok-display", ReadOnly: true}},
		Status: func(ctx context.Context) any {
			return map[string]any{
				"version": "v1.2.3",
				"modem": map[string]any{"up": true, "model": "SIMCOM_SIM7600G-H", "signal_dbm": -71,
					"registration": "home", "operator": "NTT DOCOMO", "last_error": "+CMS ERROR: 500"},
				"outbox": map[string]any{"depth": 3, "sent": 10},
				"gpio": map[string]any{"outputs": []any{map[string]any{"id": "siren-1", "state": "on"}},
					"inputs": []any{map[string]any{"id": "ack-1", "pressed": false}}},
				"mqtt": map[string]any{"connected": true, "broker": "tcp://127.0.0.1:1883"},
			}
		},
		PolicyExport: func(ctx context.Context) ([]byte, error) { return policyfile.Marshal(eng.Policy()) },
		Pages: func(ctx context.Context, id int64) ([]escalation.Notification, error) {
			return db.Outbox(ctx, sqlite.OutboxFilter{IncidentID: id})
		},
		Phones: testPhones{sim},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.con = con
	f.srv = httptest.NewServer(con)
	t.Cleanup(func() {
		con.Close()
		f.srv.Close()
		cancel()
		<-done
		db.Close()
	})
	return f
}

// testPhones adapts the real modem simulator, as cmd/tocsin does.
type testPhones struct{ sim *modemsim.Sim }

func (p testPhones) Messages() []console.PhoneMessage {
	var out []console.PhoneMessage
	for _, m := range p.sim.Messages() {
		out = append(out, console.PhoneMessage{Number: m.Number, ToPhone: m.Direction == "to-phone", Text: m.Text, At: m.At})
	}
	return out
}

func (p testPhones) Send(ctx context.Context, from, text string) error {
	return p.sim.InjectSMS(from, text)
}

func (p testPhones) ActiveCall() (console.ActiveCall, bool) {
	c, ok := p.sim.ActiveCall()
	return console.ActiveCall{Number: c.Number, Ringing: c.Rang && !c.Answered, Answered: c.Answered, Keys: c.Keys, Since: c.Start}, ok
}

func (p testPhones) CallAction(ctx context.Context, action string) error {
	switch action {
	case "answer":
		return p.sim.AnswerCall()
	case "hangup":
		return p.sim.HangUpCall()
	}
	return p.sim.PressKey(action[0])
}

func (f *fixture) alert(summary string, sev escalation.Severity) int64 {
	f.t.Helper()
	res, err := f.engine.Ingest(context.Background(), escalation.Event{Service: "press-line-1", Summary: summary, Severity: sev, Source: "plc-3"})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.IncidentID
}

func (f *fixture) incident(id int64) escalation.Incident {
	f.t.Helper()
	inc, err := f.engine.Incident(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return inc
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each answer.
type browser struct {
	t    testing.TB
	f    *fixture
	c    *http.Client
	csrf string
	lang string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: f.t, f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

var (
	loginTokenRE = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)
	csrfMetaRE   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// login fills the login form as a person would and returns the answer.
func (b *browser) login(fields url.Values) *http.Response {
	b.t.Helper()
	resp, body := b.do("GET", "/login", nil, nil)
	m := loginTokenRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("GET /login = %d without a form token:\n%s", resp.StatusCode, body)
	}
	fields.Set("login_csrf", m[1])
	resp, _ = b.do("POST", "/login", fields, nil)
	if resp.StatusCode == http.StatusSeeOther {
		_, page := b.do("GET", "/", nil, nil)
		if m := csrfMetaRE.FindStringSubmatch(page); m != nil {
			b.csrf = m[1]
		}
	}
	return resp
}

func (b *browser) loginAs(user, password string) {
	b.t.Helper()
	if resp := b.login(url.Values{"user": {user}, "password": {password}}); resp.StatusCode != http.StatusSeeOther || b.csrf == "" {
		b.t.Fatalf("login as %s = %d, csrf %q; want 303 and a CSRF token on the page", user, resp.StatusCode, b.csrf)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	b := f.browser()

	resp := b.login(url.Values{"user": {"demo"}, "password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "tocsin_session" && ck.Value != "" {
			t.Errorf("wrong password set a session cookie")
		}
	}
	if resp, _ := b.do("GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / after a failed login = %d, want a redirect to the login", resp.StatusCode)
	}

	resp = b.login(url.Values{"user": {"demo"}, "password": {"demo-pw"}, "next": {"/oncall"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/oncall" {
		t.Fatalf("good login = %d to %q, want 303 to /oncall", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "tocsin_session" {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie after login")
	}
	if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", sess)
	}
	if resp, body := b.do("GET", "/", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Open incidents") {
		t.Errorf("GET / after login = %d:\n%s", resp.StatusCode, body)
	}

	// Logging out needs the token too, and ends the session.
	if resp, _ := b.do("POST", "/logout", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without CSRF token = %d, want 403", resp.StatusCode)
	}
	if resp, _ := b.do("POST", "/logout", url.Values{"csrf": {b.csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout = %d, want 303", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / after logout = %d, want a redirect to the login", resp.StatusCode)
	}
}

// A password stored as a bcrypt hash logs in with the password, not with
// the hash; a wrong password or an unknown user does not.
func TestLoginHashedPassword(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		user, password string
		want           int
	}{
		{"wall", "wall-pw", http.StatusSeeOther},
		{"wall", wallHash(t), http.StatusUnauthorized},
		{"wall", "wall-PW", http.StatusUnauthorized},
		{"nobody", "wall-pw", http.StatusUnauthorized},
		{"demo", "demo-pw", http.StatusSeeOther},
	} {
		resp := f.browser().login(url.Values{"user": {tt.user}, "password": {tt.password}})
		if resp.StatusCode != tt.want {
			t.Errorf("login %s/%s = %d, want %d", tt.user, tt.password, resp.StatusCode, tt.want)
		}
	}
	if !console.IsPasswordHash(wallHash(t)) || console.IsPasswordHash("demo-pw") {
		t.Errorf("IsPasswordHash does not tell a bcrypt hash from a password")
	}
}

func TestLoginWithToken(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		token    string
		code     int
		readOnly bool
	}{
		{"tok-scada", http.StatusSeeOther, false},
		{"tok-display", http.StatusSeeOther, true},
		{"tok-nope", http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		b := f.browser()
		resp := b.login(url.Values{"token": {tt.token}})
		if resp.StatusCode != tt.code {
			t.Errorf("token %q: login = %d, want %d", tt.token, resp.StatusCode, tt.code)
			continue
		}
		if tt.code != http.StatusSeeOther {
			continue
		}
		_, page := b.do("GET", "/", nil, nil)
		if got := strings.Contains(page, "read-only"); got != tt.readOnly {
			t.Errorf("token %q: page says read-only = %v, want %v", tt.token, got, tt.readOnly)
		}
	}
}

func TestLoginFormNeedsItsToken(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	// A cross-site form cannot read the login form's token, so it cannot
	// log the victim in as someone else.
	resp, body := b.do("POST", "/login", url.Values{"user": {"demo"}, "password": {"demo-pw"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without the form token = %d, want 403:\n%s", resp.StatusCode, body)
	}
}

func TestLoginThrottled(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	last := 0
	for range 12 {
		last = b.login(url.Values{"user": {"demo"}, "password": {"guess"}}).StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("12th failed login = %d, want 429", last)
	}
	if resp := b.login(url.Values{"user": {"demo"}, "password": {"demo-pw"}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("good login while throttled = %d, want 429", resp.StatusCode)
	}
}

func TestPagesNeedLogin(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	for _, p := range []string{"/", "/incidents/1", "/oncall", "/health", "/policy", "/policy/export", "/phones"} {
		resp, _ := b.do("GET", p, nil, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s without login = %d to %q, want 303 to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if resp, _ := b.do("GET", "/events", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /events without login = %d, want 401", resp.StatusCode)
	}
	if resp, _ := b.do("POST", "/incidents/1/ack", url.Values{}, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST ack without login = %d, want 401", resp.StatusCode)
	}
}

// Every state change needs the session's CSRF token; without it, with a
// wrong one or with another session's, nothing changes.
func TestStateChangeNeedsCSRFToken(t *testing.T) {
	f := newFixture(t)
	id := f.alert("Hydraulic pressure low", escalation.SevCritical)
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	other := f.browser()
	other.loginAs("demo", "demo-pw")

	refused := []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {"x" + b.csrf}}, nil},
		{"another session's token", url.Values{"csrf": {other.csrf}}, nil},
		{"wrong header", url.Values{}, map[string]string{"X-CSRF-Token": "nope"}},
		{"cross-site", url.Values{"csrf": {b.csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"foreign origin", url.Values{"csrf": {b.csrf}}, map[string]string{"Origin": "http://evil.example"}},
	}
	for _, tt := range refused {
		for _, action := range []string{"ack", "resolve", "escalate"} {
			resp, body := b.do("POST", "/incidents/1/"+action, tt.form, tt.hdr)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: POST %s = %d, want 403:\n%s", tt.name, action, resp.StatusCode, body)
			}
		}
		if resp, _ := b.do("POST", "/phones/tanaka/sms", url.Values{"text": {"4"}, "csrf": tt.form["csrf"]}, tt.hdr); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: phone SMS = %d, want 403", tt.name, resp.StatusCode)
		}
	}
	if inc := f.incident(id); inc.Status != escalation.Triggered || inc.Level > 1 {
		t.Fatalf("incident after refused posts: %s level %d, want triggered, unescalated", inc.Status, inc.Level)
	}
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("refused phone SMS reached the modem: %+v", f.sim.Messages())
	}

	// A plain form post with the token: acknowledged, redirected back.
	resp, body := b.do("POST", "/incidents/1/ack", url.Values{"csrf": {b.csrf}, "next": {"/incidents/1"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents/1" {
		t.Fatalf("ack with token = %d to %q:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	inc := f.incident(id)
	if inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "demo" {
		t.Errorf("after ack: %s by %q, want acknowledged by demo", inc.Status, inc.AcknowledgedBy)
	}
	found := false
	for _, e := range inc.Timeline {
		found = found || (e.Kind == escalation.KindAcknowledged && strings.Contains(e.Detail, "console"))
	}
	if !found {
		t.Errorf("timeline has no acknowledgement via the console: %+v", inc.Timeline)
	}

	// The page's script posts with the header and gets JSON back.
	resp, body = b.do("POST", "/incidents/1/resolve", url.Values{}, map[string]string{"X-CSRF-Token": b.csrf, "Accept": "application/json"})
	var got escalation.Incident
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.Status != escalation.Resolved {
		t.Errorf("resolve by script = %d %s, want 200 and the resolved incident", resp.StatusCode, body)
	}
	// Resolving twice is a conflict, said in JSON.
	resp, body = b.do("POST", "/incidents/1/resolve", url.Values{}, map[string]string{"X-CSRF-Token": b.csrf, "Accept": "application/json"})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `"error"`) {
		t.Errorf("second resolve = %d %s, want 409 with an error", resp.StatusCode, body)
	}
}

// A read-only login (a wall display) sees everything, gets no buttons,
// and is refused any change even with a valid CSRF token.
func TestReadOnlyCannotChangeAnything(t *testing.T) {
	f := newFixture(t)
	id := f.alert("Conveyor jam", escalation.SevWarning)
	b := f.browser()
	b.loginAs("wall", "wall-pw")
	_, page := b.do("GET", "/", nil, nil)
	if !strings.Contains(page, "Conveyor jam") {
		t.Errorf("read-only incidents page lacks the incident:\n%s", page)
	}
	if strings.Contains(page, `/incidents/1/ack"`) {
		t.Errorf("read-only page has an acknowledge button")
	}
	for _, action := range []string{"ack", "resolve", "escalate"} {
		resp, body := b.do("POST", "/incidents/1/"+action, url.Values{"csrf": {b.csrf}}, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "read-only") {
			t.Errorf("read-only %s = %d %q, want 403 saying read-only", action, resp.StatusCode, body)
		}
	}
	if resp, _ := b.do("POST", "/phones/tanaka/sms", url.Values{"csrf": {b.csrf}, "text": {"4"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only phone SMS = %d, want 403", resp.StatusCode)
	}
	if inc := f.incident(id); inc.Status != escalation.Triggered {
		t.Errorf("incident after read-only posts: %s, want triggered", inc.Status)
	}
	_, phones := b.do("GET", "/phones", nil, nil)
	if strings.Contains(phones, `data-reply="4"`) {
		t.Errorf("read-only phones page has reply buttons")
	}
}

func TestIncidentsPage(t *testing.T) {
	f := newFixture(t)
	warn := f.alert("Conveyor jam", escalation.SevWarning)
	crit := f.alert("Hydraulic pressure low", escalation.SevCritical)
	acked := f.alert("Oil temperature <script>alert(1)</script>", escalation.SevCritical)
	if _, err := f.engine.Acknowledge(context.Background(), acked, "suzuki"); err != nil {
		t.Fatal(err)
	}
	done := f.alert("Door open", escalation.SevInfo)
	if _, err := f.engine.Resolve(context.Background(), done, "tanaka"); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	_, page := b.do("GET", "/", nil, nil)

	// Open first: triggered before acknowledged, critical before warning;
	// then the resolved.
	order := []string{`id="incident-` + itoa(crit), `id="incident-` + itoa(warn), `id="incident-` + itoa(acked), `id="incident-` + itoa(done)}
	last := -1
	for _, o := range order {
		i := strings.Index(page, o)
		if i < 0 || i < last {
			t.Fatalf("incidents out of order (want %v):\n%s", order, page)
		}
		last = i
	}
	for _, want := range []string{
		`class="incident sev-critical st-triggered"`,
		`class="incident sev-warning st-triggered"`,
		`class="incident sev-critical st-acknowledged"`,
		"Oil temperature &lt;script&gt;alert(1)&lt;/script&gt;",
		"acknowledged by Suzuki Hanako",
		"Press line 1",
		"Recently resolved",
		`/incidents/` + itoa(crit) + `/ack"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("incidents page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Errorf("summary not escaped")
	}

	// The partial form is the main block only, for live updates.
	_, part := b.do("GET", "/?partial=1", nil, nil)
	if strings.Contains(part, "<html") || !strings.Contains(part, "Hydraulic pressure low") {
		t.Errorf("partial page:\n%s", part)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func TestIncidentDetailShowsTimelineAndPages(t *testing.T) {
	f := newFixture(t)
	id := f.alert("Hydraulic pressure low", escalation.SevCritical)
	// Wait for level 1 to fire (the engine runs for real), through the
	// change notification rather than by sleeping.
	fired := make(chan struct{}, 1)
	cancel := f.engine.Subscribe(func(inc escalation.Incident) {
		if inc.ID == id && inc.Level >= 1 {
			select {
			case fired <- struct{}{}:
			default:
			}
		}
	})
	defer cancel()
	if f.incident(id).Level < 1 {
		select {
		case <-fired:
		case <-time.After(10 * time.Second):
			t.Fatal("level 1 did not fire")
		}
	}
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	resp, page := b.do("GET", "/incidents/"+itoa(id), nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("detail = %d", resp.StatusCode)
	}
	page = html.UnescapeString(page)
	for _, want := range []string{"Hydraulic pressure low", "Timeline", `class="tl-triggered"`, `class="tl-level"`, "田中 太郎 by SMS",
		"Notifications", "田中 太郎 · SMS", "+819012345678", `<td class="state" data-label="status">queued</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("detail page lacks %q", want)
		}
	}
	_, list := b.do("GET", "/", nil, nil)
	if !strings.Contains(list, `<span class="name">田中 太郎</span> <span class="ch">SMS</span> <span class="state">queued</span>`) {
		t.Errorf("incidents page does not say who was paged")
	}
	if resp, _ := b.do("GET", "/incidents/999", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown incident = %d, want 404", resp.StatusCode)
	}
	if resp, _ := b.do("GET", "/incidents/abc", nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad incident id = %d, want 400", resp.StatusCode)
	}
}

func TestOtherPages(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	tests := []struct {
		path string
		want []string
	}{
		{"/oncall", []string{"line1-oncall", "Asia/Tokyo", "On call now", "next handoff", "Overrides", "Suzuki Hanako"}},
		{"/health", []string{"SIMCOM_SIM7600G-H", "NTT DOCOMO", "home", "+CMS ERROR: 500", `class="bar b3 on"`, "-71 dBm",
			`<p class="big">3`, "siren-1", "ack-1", "MQTT", "tcp://127.0.0.1:1883", "v1.2.3"}},
		{"/policy", []string{"tanaka", "田中 太郎", "+819012345678", "line1", "+10m", "schedule line1-oncall (SMS)", "zone line1", "/policy/export"}},
		{"/phones", []string{"田中 太郎", "Suzuki Hanako", `data-reply="4"`, `data-reply="6"`, `name="text"`}},
	}
	for _, tt := range tests {
		resp, page := b.do("GET", tt.path, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", tt.path, resp.StatusCode)
			continue
		}
		page = html.UnescapeString(page)
		for _, w := range tt.want {
			if !strings.Contains(page, w) {
				t.Errorf("GET %s lacks %q", tt.path, w)
			}
		}
	}
	resp, yaml := b.do("GET", "/policy/export", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(yaml, "tanaka") {
		t.Errorf("policy export = %d %q:\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), yaml)
	}
}

// A reply from a simulated phone goes into the modem simulator as an
// incoming SMS, which is what a real phone's reply is.
func TestPhoneReplyGoesThroughTheSimulator(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	resp, body := b.do("POST", "/phones/tanaka/sms", url.Values{"text": {"4 1"}}, map[string]string{"X-CSRF-Token": b.csrf, "Accept": "application/json"})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("phone SMS = %d %s", resp.StatusCode, body)
	}
	msgs := f.sim.Messages()
	if len(msgs) != 1 || msgs[0].Number != "+819012345678" || msgs[0].Text != "4 1" || msgs[0].Direction != "from-phone" {
		t.Errorf("simulator messages = %+v, want one from tanaka's phone", msgs)
	}
	if got := f.sim.Stored(); len(got) != 1 {
		t.Errorf("simulator storage = %v, want the reply stored for the modem to read", got)
	}
	_, page := b.do("GET", "/phones", nil, nil)
	if !strings.Contains(page, `<li class="out"><span class="text">4 1</span>`) {
		t.Errorf("phones page does not show the reply:\n%s", page)
	}
	for _, tt := range []struct {
		path, text string
		code       int
	}{
		{"/phones/nobody/sms", "4", http.StatusNotFound},
		{"/phones/tanaka/sms", "  ", http.StatusBadRequest},
	} {
		resp, _ := b.do("POST", tt.path, url.Values{"text": {tt.text}, "csrf": {b.csrf}}, nil)
		if resp.StatusCode != tt.code {
			t.Errorf("POST %s %q = %d, want %d", tt.path, tt.text, resp.StatusCode, tt.code)
		}
	}
}

func TestJapaneseUI(t *testing.T) {
	f := newFixture(t)
	f.alert("油圧低下", escalation.SevCritical)
	b := f.browser()
	b.lang = "ja-JP,ja;q=0.9,en;q=0.8"
	b.loginAs("demo", "demo-pw")
	_, page := b.do("GET", "/", nil, nil)
	for _, want := range []string{`<html lang="ja">`, "未解決のインシデント", "重大", "発報中", ">了解<"} {
		if !strings.Contains(page, want) {
			t.Errorf("Japanese page lacks %q", want)
		}
	}
	// The language link wins over the browser's preference.
	resp, _ := b.do("GET", "/lang/en?next=/oncall", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/oncall" {
		t.Errorf("switching language = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.do("GET", "/", nil, nil)
	if !strings.Contains(page, "Open incidents") || !strings.Contains(page, `<html lang="en">`) {
		t.Errorf("after switching to English the page is not English")
	}
	if resp, _ := b.do("GET", "/lang/fr", nil, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown language = %d, want 400", resp.StatusCode)
	}
}

// The event stream carries every incident change as it happens.
func TestEventsStream(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/events", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET /events = %d %q", resp.StatusCode, ct)
	}
	events := make(chan [2]string)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				ev = e
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				select {
				case events <- [2]string{ev, d}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	next := func(want string) string {
		t.Helper()
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("stream ended waiting for %q", want)
				}
				if e[0] == want {
					return e[1]
				}
			case <-ctx.Done():
				t.Fatalf("no %q event", want)
			}
		}
	}
	next("hello")
	id := f.alert("Conveyor jam", escalation.SevWarning)
	var ev struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	for ev.ID != id {
		json.Unmarshal([]byte(next("incident")), &ev)
	}
	if _, err := f.engine.Acknowledge(context.Background(), id, "tanaka"); err != nil {
		t.Fatal(err)
	}
	for ev.Status != "acknowledged" {
		json.Unmarshal([]byte(next("incident")), &ev)
	}
	// A reply on a simulated phone is announced too.
	if err := f.sim.InjectSMS("+819012345678", "4"); err != nil {
		t.Fatal(err)
	}
	next("phones")
	// Close ends the stream, so a server can shut down.
	f.con.Close()
	for range events {
	}
}

// events opens the live stream for b and returns its events (name, data).
func (b *browser) events(ctx context.Context) <-chan [2]string {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.f.srv.URL+"/events", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /events = %d", resp.StatusCode)
	}
	events := make(chan [2]string)
	go func() {
		defer close(events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				ev = e
			}
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case events <- [2]string{ev, d}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return events
}

// A call from the modem rings on the callee's simulated phone; the page
// answers it, presses 4 and hangs up, each through the simulated modem.
func TestPhoneCallControls(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The modem's side of the serial line: a client that dials tanaka.
	modemEnd, simEnd := net.Pipe()
	go f.sim.Serve(ctx, simEnd)
	go io.Copy(io.Discard, modemEnd) // the sim's answers and notices
	t.Cleanup(func() { modemEnd.Close() })

	b := f.browser()
	b.loginAs("demo", "demo-pw")
	events := b.events(ctx)
	waitPhones := func(want string) {
		t.Helper()
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("stream ended waiting for %q", want)
				}
				if e[0] == "phones" && strings.Contains(e[1], want) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no phones event with %q", want)
			}
		}
	}
	if _, err := io.WriteString(modemEnd, "ATD+819012345678;\r"); err != nil {
		t.Fatal(err)
	}
	waitPhones("call +819012345678 true false") // ringing, not answered

	_, page := b.do("GET", "/phones", nil, nil)
	if !strings.Contains(page, `data-call="ringing"`) || !strings.Contains(page, `data-call-do="answer"`) {
		t.Fatalf("phones page does not show the ringing call:\n%s", page)
	}
	ro := f.browser()
	ro.loginAs("wall", "wall-pw")
	if resp, _ := ro.do("POST", "/phones/tanaka/call", url.Values{"csrf": {ro.csrf}, "do": {"answer"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only answer = %d, want 403", resp.StatusCode)
	}
	call := func(contact, do string) int {
		resp, _ := b.do("POST", "/phones/"+contact+"/call", url.Values{"do": {do}}, map[string]string{"X-CSRF-Token": b.csrf, "Accept": "application/json"})
		return resp.StatusCode
	}
	for _, tt := range []struct {
		contact, do string
		code        int
	}{
		{"suzuki", "answer", http.StatusConflict}, // not suzuki's call
		{"tanaka", "x", http.StatusBadRequest},
		{"tanaka", "4", http.StatusConflict}, // not answered yet
		{"tanaka", "answer", http.StatusAccepted},
		{"tanaka", "4", http.StatusAccepted},
	} {
		if got := call(tt.contact, tt.do); got != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.contact, tt.do, got, tt.code)
		}
	}
	if c, ok := f.sim.ActiveCall(); !ok || !c.Answered || c.Keys != "4" {
		t.Errorf("active call = %+v, want answered with key 4", c)
	}
	_, page = b.do("GET", "/phones", nil, nil)
	if !strings.Contains(page, `data-call="answered"`) || !strings.Contains(page, `data-key="4"`) {
		t.Errorf("phones page does not show the answered call with its keys")
	}
	if got := call("tanaka", "hangup"); got != http.StatusAccepted {
		t.Errorf("hang up = %d", got)
	}
	if calls := f.sim.Calls(); len(calls) != 1 || calls[0].Keys != "4" || !calls[0].Answered {
		t.Errorf("calls = %+v, want one answered call with key 4", calls)
	}
}

// In an alarm storm the incidents page lists a page of incidents at a
// time, unacknowledged first, and links to the older ones, so every
// request (and every live refresh) stays small; paging through reaches
// every open incident exactly once.
func TestIncidentsPageInAStorm(t *testing.T) {
	f := newFixture(t)
	var acked []int64
	for i := range 120 {
		id := f.alert(fmt.Sprintf("Sensor %d out of range", i), escalation.SevWarning)
		if i%10 == 0 {
			acked = append(acked, id)
		}
	}
	for _, id := range acked {
		if _, err := f.engine.Acknowledge(context.Background(), id, "suzuki"); err != nil {
			t.Fatal(err)
		}
	}
	crit := f.alert("Hydraulic pressure low", escalation.SevCritical)
	b := f.browser()
	b.loginAs("demo", "demo-pw")
	_, page := b.do("GET", "/", nil, nil)
	if n := strings.Count(page, `<li class="incident `); n != 50 {
		t.Errorf("first page lists %d incidents, want 50", n)
	}
	if !strings.Contains(page, `<span class="count" id="open-count">121</span>`) {
		t.Errorf("page does not count every open incident")
	}
	if i := strings.Index(page, `<li class="incident `); i < 0 || !strings.HasPrefix(page[i:], `<li class="incident sev-critical st-triggered" id="incident-`+itoa(crit)+`"`) {
		t.Errorf("the newest critical incident is not listed first")
	}
	older := regexp.MustCompile(`<a href="([^"]+)" id="older"`)
	seen := map[string]int{}
	var states []string
	for pages := 1; ; pages++ {
		for _, m := range regexp.MustCompile(`<li class="incident sev-\w+ st-(\w+)" id="incident-(\d+)"`).FindAllStringSubmatch(page, -1) {
			seen[m[2]]++
			states = append(states, m[1])
		}
		m := older.FindStringSubmatch(page)
		if m == nil {
			if pages != 3 {
				t.Errorf("%d pages of 50, want 3", pages)
			}
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		_, page = b.do("GET", html.UnescapeString(m[1]), nil, nil)
		if strings.Contains(page, "Recently resolved") {
			t.Errorf("an older page repeats the recently resolved")
		}
	}
	if len(seen) != 121 {
		t.Errorf("paging reached %d incidents, want all 121 open", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("incident %s listed %d times", id, n)
		}
	}
	if first := strings.Join(states, " "); strings.Contains(first, "acknowledged triggered") {
		t.Errorf("an acknowledged incident listed before an unacknowledged one: %s", first)
	}
}

// BenchmarkIncidentsPage renders the incidents page as a live refresh does
// on a real database with 250 and with 2,500 open incidents: a page lists
// 50 (who was paged, what comes next), so the cost per request stays the
// same however many are open.
func BenchmarkIncidentsPage(b *testing.B) {
	for _, open := range []int{250, 2500} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			f := newFixture(b)
			for i := range open {
				res, err := f.engine.Ingest(context.Background(), escalation.Event{Service: "press-line-1",
					Summary: fmt.Sprintf("Sensor %d out of range", i), Severity: escalation.SevWarning})
				if err != nil || !res.New {
					b.Fatal(err)
				}
			}
			cl := f.browser()
			cl.loginAs("demo", "demo-pw")
			b.ResetTimer()
			for b.Loop() {
				resp, page := cl.do("GET", "/?partial=1", nil, nil)
				if resp.StatusCode != http.StatusOK || strings.Count(page, `<li class="incident `) != 50 {
					b.Fatalf("GET / = %d", resp.StatusCode)
				}
			}
		})
	}
}
