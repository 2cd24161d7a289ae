package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/needs"
	"github.com/tocsin-relay/tocsin/internal/testnet"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// smtpSink runs Debian's aiosmtpd (python3-aiosmtpd) as a real SMTP server
// that files every message into a Maildir, and returns its address and the
// Maildir. The test is skipped where the package is not installed.
func smtpSink(t *testing.T) (addr, maildir string) {
	t.Helper()
	const py = "/usr/bin/python3" // not a pyenv python on PATH: Debian's has aiosmtpd
	err := exec.Command(py, "-c", "import aiosmtpd").Run()
	needs.That(t, err == nil, "smtp", "python3-aiosmtpd is not installed (Debian package python3-aiosmtpd, .ci/packages.txt)")
	addr = testnet.Addr(t)
	maildir = filepath.Join(t.TempDir(), "Maildir")
	cmd := exec.Command(py, "-m", "aiosmtpd", "-n", "-l", addr, "-c", "aiosmtpd.handlers.Mailbox", maildir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Wait for the listener: the server is ready when it accepts.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr, maildir
		}
		if i == 200 {
			t.Fatalf("aiosmtpd did not listen on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mailMsg is one e-mail read back from the Maildir, headers unfolded and
// the body decoded.
type mailMsg struct {
	h    mail.Header
	body string
}

func (m mailMsg) get(k string) string { return strings.Join(strings.Fields(m.h.Get(k)), " ") }

func (m mailMsg) subject() string {
	s, _ := new(mime.WordDecoder).DecodeHeader(m.h.Get("Subject"))
	return s
}

// mailsTo reads every message in the Maildir addressed to rcpt, in the
// order they were sent.
func mailsTo(t *testing.T, maildir, rcpt string) []mailMsg {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
	var out []mailMsg
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(fh)
		if err != nil {
			fh.Close()
			t.Fatal(err)
		}
		var body io.Reader = m.Body
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(m.Body)
		}
		b, _ := io.ReadAll(body)
		fh.Close()
		if strings.Contains(m.Header.Get("To"), rcpt) {
			out = append(out, mailMsg{h: m.Header, body: string(b)})
		}
	}
	// In the order sent: the thread's first has no row number in its
	// Message-ID, later ones carry their outbox row (…n<row>@…).
	sort.SliceStable(out, func(i, j int) bool { return rowOf(out[i]) < rowOf(out[j]) })
	return out
}

// hookSink is one local HTTP server standing in for ntfy and the chat
// servers; it keeps every request by path.
type hookSink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]chan hookReq
	// status answers each path (default 200); block, if set, holds the
	// answer until closed.
	status map[string]int
	block  chan struct{}
	all    chan string // the path of every request, in order
}

type hookReq struct {
	header http.Header
	body   map[string]any
}

func newHookSink(t *testing.T, status map[string]int) *hookSink {
	s := &hookSink{got: map[string]chan hookReq{}, status: status, all: make(chan string, 256)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		s.ch(r.URL.Path) <- hookReq{header: r.Header, body: body}
		s.all <- r.URL.Path
		if s.block != nil {
			<-s.block
		}
		code := http.StatusOK
		if c, ok := s.status[r.URL.Path]; ok {
			code = c
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *hookSink) ch(path string) chan hookReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.got[path]
	if !ok {
		c = make(chan hookReq, 64)
		s.got[path] = c
	}
	return c
}

func (s *hookSink) next(t *testing.T, path string) hookReq {
	t.Helper()
	select {
	case r := <-s.ch(path):
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("nothing posted to %s within 30s", path)
	}
	return hookReq{}
}

const channelsPolicy = `contacts:
  - {id: tanaka, name: 田中 太郎, phone: "+819012345678", language: ja, email: tanaka@factory.example, ntfy_topic: tocsin-tanaka}
  - {id: boss, name: Boss, phone: "+819011112222", language: en, email: boss@factory.example}
services:
  - {id: press-line-1, name: Press line 1, escalation_policy: line1}
escalation_policies:
  - id: line1
    levels:
      - after: 0s
        notify:
          - {contact: tanaka, via: [sms, push, email]}
          - {webhook: line-chat}
          - {webhook: teams}
      - after: 1h
        notify:
          - {contact: boss, via: [email]}
webhooks:
  - {id: line-chat, url: "%[1]s/slack", format: slack}
  - {id: teams, url: "%[1]s/teams", format: teams}
  - {id: mes, url: "%[1]s/mes", format: generic, headers_file: "%[2]s", subscribe: [press-line-1]}
settings:
  default_region: JP
  public_url: "http://%[3]s"
`

// channelsDaemon starts a daemon whose policy pages by SMS, push, e-mail
// and two chat webhooks, with a stakeholder webhook; smtp and ntfy are
// the servers' addresses.
func channelsDaemon(t *testing.T, hooks *hookSink, smtp, ntfyURL string) *e2e {
	t.Helper()
	headers := filepath.Join(t.TempDir(), "mes.headers")
	os.WriteFile(headers, []byte("# MES API token\nX-Token: mes-secret\n"), 0o600)
	cfg := fmt.Sprintf("gpio:\n  backend: none\nemail:\n  smtp: %q\n  from: \"Tocsin <tocsin@factory.lan>\"\npush:\n  ntfy_url: %q\n", smtp, ntfyURL)
	e := newE2EFull(t, "", "", cfg)
	policy := fmt.Sprintf(channelsPolicy, hooks.srv.URL, headers, e.addr)
	if err := os.WriteFile(filepath.Join(e.dir, "policy.yaml"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start()
	return e
}

var rowRE = regexp.MustCompile(`\.n(\d+)@`)

func rowOf(m mailMsg) int {
	n := 0
	if sm := rowRE.FindStringSubmatch(m.get("Message-Id")); sm != nil {
		fmt.Sscan(sm[1], &n)
	}
	return n
}

var linkRE = regexp.MustCompile(`http://[^\s]+/a/[A-Za-z0-9_-]+`)

// linkCall GETs or POSTs an acknowledge link as a browser (or the ntfy
// app) would: no token, no cookie.
func linkCall(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func timeline(inc escalation.Incident) string {
	var b strings.Builder
	for _, e := range inc.Timeline {
		b.WriteString(e.Detail + "\n")
	}
	return b.String()
}

// TestEmailPushWebhooksAndLinks: one alert pages tanaka by SMS, ntfy push
// and e-mail (a real SMTP server), posts to Mattermost-style and Teams
// webhooks and tells the MES stakeholder; the links act once, by POST, and
// nothing else changes the incident.
func TestEmailPushWebhooksAndLinks(t *testing.T) {
	smtp, maildir := smtpSink(t)
	hooks := newHookSink(t, nil)
	e := channelsDaemon(t, hooks, smtp, hooks.srv.URL+"/ntfy")
	start := time.Now()
	res := e.alert(map[string]any{"service": "press-line-1", "summary": "油圧低下", "severity": "critical", "source": "plc-3"})
	id := res.IncidentID

	if sms := e.nextSMS(); sms.To != "+819012345678" {
		t.Errorf("SMS to %s", sms.To)
	}

	// ntfy: JSON publish to the root, with http actions to the links.
	pub := hooks.next(t, "/ntfy/").body
	t.Logf("alert → ntfy publish: %s", time.Since(start).Round(time.Millisecond))
	if pub["topic"] != "tocsin-tanaka" || pub["priority"] != 5.0 || !strings.Contains(pub["title"].(string), fmt.Sprintf("#%d press-line-1: 油圧低下", id)) {
		t.Errorf("ntfy publish = %v", pub)
	}
	acts, _ := pub["actions"].([]any)
	if len(acts) != 2 {
		t.Fatalf("ntfy actions = %v", pub["actions"])
	}
	pushAck := acts[0].(map[string]any)
	if pushAck["action"] != "http" || pushAck["method"] != "POST" || pushAck["label"] != "了解" ||
		!strings.HasPrefix(pushAck["url"].(string), "http://"+e.addr+"/a/") {
		t.Errorf("ntfy ack action = %v", pushAck)
	}

	// Chat: Mattermost/Slack text+attachments; Teams Adaptive Card.
	slack := hooks.next(t, "/slack").body
	if !strings.Contains(fmt.Sprint(slack["text"]), fmt.Sprintf("#%d", id)) || len(slack["attachments"].([]any)) != 1 {
		t.Errorf("slack payload = %v", slack)
	}
	teams := hooks.next(t, "/teams").body
	att := teams["attachments"].([]any)[0].(map[string]any)
	if teams["type"] != "message" || att["contentType"] != "application/vnd.microsoft.card.adaptive" ||
		att["content"].(map[string]any)["type"] != "AdaptiveCard" {
		t.Errorf("teams payload = %v", teams)
	}

	// The MES hears the trigger, with its header, and no links.
	mes := hooks.next(t, "/mes")
	if mes.body["event"] != "triggered" || mes.header.Get("X-Token") != "mes-secret" || mes.body["ack_url"] != nil {
		t.Errorf("mes = %v %v", mes.header, mes.body)
	}

	// E-mail through aiosmtpd.
	e.waitLog(0, "channel=email to=tanaka@factory.example")
	t.Logf("alert → e-mail accepted by aiosmtpd (at the latest): %s", time.Since(start).Round(time.Millisecond))
	mails := mailsTo(t, maildir, "tanaka@factory.example")
	if len(mails) != 1 {
		t.Fatalf("%d e-mails to tanaka, want 1", len(mails))
	}
	m := mails[0]
	if got, want := m.subject(), fmt.Sprintf("[重大] #%d press-line-1: 油圧低下", id); got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if m.get("Content-Language") != "ja" || !strings.Contains(m.body, "状態: 発生中") || !strings.HasPrefix(m.get("Message-Id"), fmt.Sprintf("<tocsin.incident-%d.", id)) {
		t.Errorf("e-mail headers %v body:\n%s", m.h, m.body)
	}
	links := linkRE.FindAllString(m.body, -1)
	if len(links) != 2 || !strings.Contains(m.body, "了解: "+links[0]) || !strings.Contains(m.body, "解決: "+links[1]) {
		t.Fatalf("e-mail links %v in:\n%s", links, m.body)
	}
	mailAck, mailResolve := links[0], links[1]

	// A mail scanner fetches the links: a confirmation page, nothing changes.
	for _, l := range []string{mailAck, mailResolve, pushAck["url"].(string)} {
		code, page := linkCall(t, "GET", l)
		if code != http.StatusOK || !strings.Contains(page, `<form method="post">`) {
			t.Errorf("GET %s = %d:\n%s", l, code, page)
		}
	}
	if inc := e.incident(id); inc.Status != escalation.Triggered {
		t.Fatalf("after GETs the incident is %s, want triggered", inc.Status)
	}

	// A wrong token: 404, nothing changes.
	wrong := mailAck[:len(mailAck)-4] + "AAAA"
	for _, method := range []string{"GET", "POST"} {
		if code, page := linkCall(t, method, wrong); code != http.StatusNotFound || !strings.Contains(page, "Nothing was changed") {
			t.Errorf("%s wrong token = %d:\n%s", method, code, page)
		}
	}
	// An expired link (issued 25 hours ago): 410, nothing changes.
	expired := expiredLink(t, e, id)
	for _, method := range []string{"GET", "POST"} {
		if code, page := linkCall(t, method, expired); code != http.StatusGone || !strings.Contains(page, "expired") {
			t.Errorf("%s expired link = %d:\n%s", method, code, page)
		}
	}
	if inc := e.incident(id); inc.Status != escalation.Triggered {
		t.Fatalf("after wrong and expired links the incident is %s, want triggered", inc.Status)
	}

	// Two more levels by hand: boss's two e-mails form one thread.
	for range 2 {
		if code := e.api("POST", fmt.Sprintf("/api/v1/incidents/%d/escalate", id), nil, nil); code != http.StatusOK {
			t.Fatalf("escalate = %d", code)
		}
	}
	off := e.waitLog(0, "channel=email to=boss@factory.example")
	e.waitLog(off, "channel=email to=boss@factory.example")
	boss := mailsTo(t, maildir, "boss@factory.example")
	if len(boss) != 2 {
		t.Fatalf("%d e-mails to boss, want 2", len(boss))
	}
	root := boss[0].get("Message-Id")
	if boss[0].get("In-Reply-To") != "" || boss[1].get("In-Reply-To") != root || boss[1].get("References") != root || boss[1].get("Message-Id") == root {
		t.Errorf("thread: first %q; second Message-ID %q In-Reply-To %q References %q", root, boss[1].get("Message-Id"), boss[1].get("In-Reply-To"), boss[1].get("References"))
	}
	if !strings.HasPrefix(boss[0].subject(), "[CRIT] #") || boss[0].get("Content-Language") != "en" {
		t.Errorf("boss's e-mail in English: %q %q", boss[0].subject(), boss[0].get("Content-Language"))
	}

	// The push button acts (ntfy POSTs with no body).
	tap := time.Now()
	code, page := linkCall(t, "POST", pushAck["url"].(string))
	t.Logf("push button POST → acknowledged: %s", time.Since(tap).Round(time.Millisecond))
	inc := e.incident(id)
	if code != http.StatusOK || inc.Status != escalation.Acknowledged || inc.AcknowledgedBy != "tanaka" ||
		!strings.Contains(timeline(inc), "acknowledged by tanaka via push") {
		t.Fatalf("push ack = %d (%s), incident %s by %s:\n%s", code, page, inc.Status, inc.AcknowledgedBy, timeline(inc))
	}
	// Used once: 410, nothing changes.
	if code, _ := linkCall(t, "POST", pushAck["url"].(string)); code != http.StatusGone {
		t.Errorf("reused link = %d, want 410", code)
	}
	// Resolve from the e-mail.
	if code, page := linkCall(t, "POST", mailResolve); code != http.StatusOK || !strings.Contains(page, "解決") {
		t.Errorf("resolve link = %d:\n%s", code, page)
	}
	inc = e.incident(id)
	if inc.Status != escalation.Resolved || !strings.Contains(timeline(inc), "resolved by tanaka via email") {
		t.Errorf("after the resolve link: %s\n%s", inc.Status, timeline(inc))
	}
	// tanaka's thread closes: the acknowledgement and the resolution
	// follow the page as replies.
	e.waitLog(0, "channel=email to=tanaka@factory.example incident="+fmt.Sprint(id)+" event=resolved")
	mails = mailsTo(t, maildir, "tanaka@factory.example")
	if len(mails) != 3 {
		t.Fatalf("%d e-mails to tanaka, want page, acknowledged, resolved", len(mails))
	}
	troot := mails[0].get("Message-Id")
	for i, want := range []string{fmt.Sprintf("[了解済] #%d", id), fmt.Sprintf("[解決] #%d", id)} {
		m := mails[i+1]
		if !strings.HasPrefix(m.subject(), want) || m.get("In-Reply-To") != troot || linkRE.MatchString(m.body) {
			t.Errorf("follow-up %d: subject %q In-Reply-To %q (root %q), body:\n%s", i+1, m.subject(), m.get("In-Reply-To"), troot, m.body)
		}
	}
	if ev := hooks.next(t, "/mes").body["event"]; ev != "acknowledged" {
		t.Errorf("mes heard %v, want acknowledged", ev)
	}
	if ev := hooks.next(t, "/mes").body["event"]; ev != "resolved" {
		t.Errorf("mes heard %v, want resolved", ev)
	}

	// Status and metrics per channel: 7 e-mails (tanaka's page and two
	// follow-ups; boss's two pages and two follow-ups).
	var st struct {
		Channels []escalation.ChannelHealth `json:"channels"`
	}
	e.api("GET", "/api/v1/status", nil, &st)
	for _, h := range st.Channels {
		if h.State != "ok" || h.Sent == 0 {
			t.Errorf("status channel %+v, want ok with sends", h)
		}
	}
	if len(st.Channels) != 3 {
		t.Errorf("status channels = %+v", st.Channels)
	}
	fams := e.scrape()
	if m, ok := metric(fams, "tocsin_notifications_total", "channel=email", "status=sent"); !ok || m.GetCounter().GetValue() != 7 {
		t.Errorf("tocsin_notifications_total{channel=email,status=sent} = %v", m)
	}
}

// expiredLink stores a link for incident id that expired an hour ago,
// through a second handle on the daemon's database, and returns its URL.
func expiredLink(t *testing.T, e *e2e, id int64) string {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "state", "tocsin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tok := "expired-test-token-0123456789abcdef"
	issued := time.Now().Add(-25 * time.Hour)
	if err := db.SaveAckLinks(context.Background(), escalation.AckLink{Hash: escalation.HashToken(tok), IncidentID: id,
		Recipient: "tanaka", Action: escalation.Acknowledge, Channel: escalation.Email,
		CreatedAt: issued, ExpiresAt: issued.Add(escalation.DefaultLinkTTL)}); err != nil {
		t.Fatal(err)
	}
	return "http://" + e.addr + "/a/" + tok
}

// TestFailingChannelsNeverDelaySMS: with the SMTP server refusing
// connections, ntfy unreachable and the chat webhook hanging and then
// answering 500, the SMS still leaves at once; the webhook is retried,
// and /api/v1/status shows each channel's trouble.
func TestFailingChannelsNeverDelaySMS(t *testing.T) {
	hooks := newHookSink(t, map[string]int{"/slack": 500, "/teams": 500, "/mes": 500})
	hooks.block = make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(hooks.block)
		}
	}
	defer release()
	closed := testnet.Addr(t) // nothing listens here
	e := channelsDaemon(t, hooks, closed, "http://"+testnet.Addr(t))

	start := time.Now()
	e.alert(map[string]any{"service": "press-line-1", "summary": "pressure low", "severity": "critical"})

	// A chat server holds the webhook worker's first request open …
	first := nextPath(t, hooks)
	// … and the SMS leaves all the same.
	if sms := e.nextSMS(); sms.To != "+819012345678" {
		t.Errorf("SMS to %s", sms.To)
	}
	t.Logf("alert → SMS on the wire with SMTP refusing, ntfy unreachable and a webhook hanging: %s", time.Since(start).Round(time.Millisecond))
	release()
	e.waitLog(0, "send failed, will retry")
	// The webhook is tried again after its backoff.
	for p := nextPath(t, hooks); p != first; p = nextPath(t, hooks) {
	}

	var st struct {
		Channels []escalation.ChannelHealth `json:"channels"`
	}
	e.api("GET", "/api/v1/status", nil, &st)
	got := map[escalation.Channel]escalation.ChannelHealth{}
	for _, h := range st.Channels {
		got[h.Channel] = h
	}
	if h := got[escalation.Email]; h.State != "down" || !strings.Contains(h.LastError, "refused") || h.Queued != 1 || h.Sent != 0 {
		t.Errorf("email status %+v, want down (connection refused) with the page queued", h)
	}
	if h := got[escalation.Push]; h.State != "down" || h.Queued != 1 {
		t.Errorf("push status %+v, want down with the page queued", h)
	}
	if h := got[escalation.WebhookChannel]; h.State != "retrying" || h.Retries == 0 || !strings.Contains(h.LastError, "500") {
		t.Errorf("webhook status %+v, want retrying after 500", h)
	}
}

// TestCheckChannelConfigErrors: mistakes in the email and push sections
// are reported with their lines by `tocsin check`.
func TestCheckChannelConfigErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tocsin.yaml")
	os.WriteFile(cfg, []byte(`modem:
  device: sim
gpio:
  backend: none
email:
  smtp: mail.factory.lan
  starttls: true
  tls: true
  from: "not an address"
  username: tocsin
  auth: cram-md5
push:
  ntfy_url: ntfy.factory.lan
`), 0o600)
	out, err := exec.Command(tocsinBin, "check", "-c", cfg).CombinedOutput()
	if exitCode(err) != 1 {
		t.Fatalf("exit %v, want 1:\n%s", err, out)
	}
	for _, want := range []string{
		`tocsin.yaml:6: email.smtp "mail.factory.lan": want host:port`,
		`tocsin.yaml:8: email: starttls and tls exclude each other`,
		`tocsin.yaml:9: email.from "not an address"`,
		`tocsin.yaml:10: email: give username and password_file together`,
		`tocsin.yaml:11: email.auth "cram-md5": want plain or login`,
		`tocsin.yaml:13: push.ntfy_url "ntfy.factory.lan"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func nextPath(t *testing.T, s *hookSink) string {
	t.Helper()
	select {
	case p := <-s.all:
		return p
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook request within 30s")
	}
	return ""
}
