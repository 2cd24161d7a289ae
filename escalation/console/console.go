// Package console is Tocsin's web console: the screen a shift lead looks at
// on the factory LAN, often on a phone, to see open incidents, who was
// paged and how that went (in words), what the engine does next and when,
// the timelines, who is on call, whether the modem has signal and the
// sirens are wired, and to acknowledge, resolve or escalate.
//
// It is server-rendered html/template with its assets embedded, plus a
// little plain JavaScript for live updates (Server-Sent Events fed by the
// engine's change notifications) and clicks without reloads; there is no
// build step. Logins come from the daemon's config (users with passwords,
// or API tokens); a session lives in an HttpOnly, SameSite=Strict cookie
// and every state change must carry the session's CSRF token. Read-only
// logins (wall displays) see everything and change nothing.
//
// The console knows the engine only through the small interfaces declared
// here, so cmd/tocsin wires the concrete engine, status document, policy
// export and (in the demo) the simulated phones in.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Engine is what the console needs from the escalation engine.
type Engine interface {
	Incident(ctx context.Context, id int64) (escalation.Incident, error)
	Incidents(ctx context.Context, f escalation.IncidentFilter) ([]escalation.Incident, error)
	Transition(ctx context.Context, id int64, to escalation.Status, by, via string) (escalation.Incident, error)
	Escalate(ctx context.Context, id int64, by string) (escalation.Incident, error)
	// Subscribe calls fn after every change of an incident; cancel stops it.
	Subscribe(fn func(escalation.Incident)) (cancel func())
	Policy() *escalation.Policy
	// NextStep says what the engine will do next for incident id as seen
	// at now (escalation.NextStep on the incident's state); ok is false
	// when nothing more will happen.
	NextStep(ctx context.Context, id int64, now time.Time) (up escalation.Upcoming, ok bool, err error)
}

// Phones are the demo's simulated phones: what each number received and
// sent, and a way to send an SMS from one of them through the simulated
// modem, exactly as a real reply arrives.
type Phones interface {
	Messages() []PhoneMessage
	Send(ctx context.Context, from, text string) error
}

// PhoneCalls is implemented by simulated phones that carry voice calls:
// the call in progress, and what its callee does (pick up, press a key,
// hang up), going through the simulated modem as a real callee's would.
type PhoneCalls interface {
	ActiveCall() (ActiveCall, bool)
	// CallAction is "answer", "hangup" or one DTMF key ("0"-"9", "*", "#").
	CallAction(ctx context.Context, action string) error
}

// ActiveCall is a call in progress to (or from) a simulated phone.
type ActiveCall struct {
	Number   string
	Incoming bool
	Ringing  bool // alerting, not yet answered
	Answered bool
	Keys     string // keys pressed so far
	Since    time.Time
}

// PhoneMessage is one SMS (or call) as a simulated phone shows it.
type PhoneMessage struct {
	Number string
	// ToPhone is true for messages the modem sent to the phone (and calls
	// the modem made), false for what the phone sent.
	ToPhone bool
	Text    string
	At      time.Time
	// Call marks a voice call; Text then says how it went.
	Call bool
}

// Login is one way in: a user with a password, or an API token (Secret is
// the token; the name is what actions are recorded under).
type Login struct {
	Name     string
	Secret   string
	ReadOnly bool
}

// Options wire the console to the daemon. Engine is required; nil funcs
// leave their part of the console empty.
type Options struct {
	Engine Engine
	Users  []Login // user name + password
	Tokens []Login // API tokens accepted as console logins
	Log    *slog.Logger

	// Status returns the daemon's status document (GET /api/v1/status);
	// the health page shows it.
	Status func(ctx context.Context) any
	// PolicyExport returns the policy as YAML, for the export link.
	PolicyExport func(ctx context.Context) ([]byte, error)
	// Pages lists the notifications (outbox rows) of an incident, so the
	// console can say who was paged and how it went.
	Pages func(ctx context.Context, incidentID int64) ([]escalation.Notification, error)
	// Phones, when set, adds the simulated phones page (demo mode). If it
	// also implements PhoneCalls, a ringing call can be answered there.
	Phones Phones

	// SessionTTL is how long an idle session lasts. Default 7 days: wall
	// displays stay logged in.
	SessionTTL time.Duration
}

// Console serves the web console. Create it with New; it is an
// http.Handler meant to be mounted at "/".
type Console struct {
	opts     Options
	log      *slog.Logger
	pages    map[string]*template.Template
	mux      *http.ServeMux
	handler  http.Handler
	sessions *sessions
	limiter  *loginLimiter

	closeOnce sync.Once
	done      chan struct{} // closed by Close: live streams end
}

// New returns a console; it fails only when its embedded templates are
// broken (a build mistake).
func New(o Options) (*Console, error) {
	if o.Engine == nil {
		return nil, errors.New("console: Options.Engine is required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 7 * 24 * time.Hour
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	c := &Console{
		opts:     o,
		log:      o.Log,
		pages:    pages,
		mux:      http.NewServeMux(),
		sessions: newSessions(o.SessionTTL),
		limiter:  newLoginLimiter(),
		done:     make(chan struct{}),
	}
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	c.mux.HandleFunc("GET /login", c.handleLoginForm)
	c.mux.HandleFunc("POST /login", c.handleLogin)
	c.mux.HandleFunc("POST /logout", c.handleLogout)
	c.mux.HandleFunc("GET /lang/{lang}", c.handleLang)
	c.mux.Handle("GET /{$}", c.viewer(c.handleIncidents))
	c.mux.Handle("GET /incidents/{id}", c.viewer(c.handleIncident))
	c.mux.Handle("GET /oncall", c.viewer(c.handleOnCall))
	c.mux.Handle("GET /health", c.viewer(c.handleHealth))
	c.mux.Handle("GET /policy", c.viewer(c.handlePolicy))
	c.mux.Handle("GET /policy/export", c.viewer(c.handlePolicyExport))
	c.mux.Handle("GET /phones", c.viewer(c.handlePhones))
	c.mux.Handle("GET /events", c.viewer(c.handleEvents))
	c.mux.Handle("POST /incidents/{id}/{action}", c.operator(c.handleAction))
	c.mux.Handle("POST /phones/{contact}/sms", c.operator(c.handlePhoneSMS))
	c.mux.Handle("POST /phones/{contact}/call", c.operator(c.handlePhoneCall))
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 page not found: "+r.URL.Path, http.StatusNotFound)
	})
	// The standard library's cross-origin protection refuses unsafe
	// requests a browser marks as cross-site, before any handler runs;
	// the per-session CSRF token is checked on top of it.
	c.handler = securityHeaders(http.NewCrossOriginProtection().Handler(c.mux))
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// Close ends every live-update stream, so an http.Server can shut down
// without waiting for them. The console still answers other requests.
func (c *Console) Close() { c.closeOnce.Do(func() { close(c.done) }) }

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// request is what every handler of a logged-in page gets.
type request struct {
	sess *session
	lang lang
}

// viewer wraps a page that any logged-in session may see. Without a
// session, pages redirect to the login form and the event stream answers
// 401.
func (c *Console) viewer(h func(w http.ResponseWriter, r *http.Request, rq request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessions.fromRequest(r)
		if s == nil {
			if r.URL.Path == "/events" || wantsJSON(r) || r.URL.Query().Get("partial") != "" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintln(w, `{"error":"not logged in"}`)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
			return
		}
		h(w, r, request{sess: s, lang: pickLang(r)})
	})
}

// operator wraps a state change: it needs a session that is not
// read-only and the session's CSRF token in the form field "csrf" or the
// X-CSRF-Token header.
func (c *Console) operator(h func(w http.ResponseWriter, r *http.Request, rq request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessions.fromRequest(r)
		if s == nil {
			c.fail(w, r, http.StatusUnauthorized, "not logged in")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if !s.checkCSRF(csrfFrom(r)) {
			c.log.Warn("console: state change refused: missing or wrong CSRF token", "user", s.user, "path", r.URL.Path)
			c.fail(w, r, http.StatusForbidden, "missing or wrong CSRF token: reload the page and try again")
			return
		}
		if s.readOnly {
			c.fail(w, r, http.StatusForbidden, fmt.Sprintf("%s is a read-only login and cannot change anything", s.user))
			return
		}
		h(w, r, request{sess: s, lang: pickLang(r)})
	})
}

func csrfFrom(r *http.Request) string {
	if v := r.Header.Get("X-CSRF-Token"); v != "" {
		return v
	}
	return r.PostFormValue("csrf")
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// fail answers an error as JSON for the page's script, or as a small
// page for a plain form post.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// errorStatus maps a domain error to an HTTP status for the console's
// answers.
func errorStatus(err error) int {
	switch escalation.KindOf(err) {
	case escalation.Invalid:
		return http.StatusBadRequest
	case escalation.NotFound:
		return http.StatusNotFound
	case escalation.Conflict:
		return http.StatusConflict
	case escalation.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// safeNext keeps a redirect target on this site: a path, never a scheme
// or another host.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
