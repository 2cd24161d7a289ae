// Package httpapi is Tocsin's HTTP face: the JSON API of docs/reference.md §5 with bearer
// tokens, the PagerDuty Events API (v2 and legacy v1), the Alertmanager and
// Grafana webhooks, and the mount points for /metrics and the web console.
//
// Domain error kinds are mapped to HTTP statuses in exactly one place,
// writeError. Every accepted alert is answered only after the engine has
// committed it.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// MaxBody is the largest request body accepted on /api/* (docs/reference.md §5).
const MaxBody = 1 << 20

// Ingester commits events.
type Ingester interface {
	Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error)
}

// Engine is what the API needs from the escalation engine.
type Engine interface {
	Ingester
	Transition(ctx context.Context, id int64, to escalation.Status, by, via string) (escalation.Incident, error)
	Escalate(ctx context.Context, id int64, by string) (escalation.Incident, error)
	Incident(ctx context.Context, id int64) (escalation.Incident, error)
	IncidentDetail(ctx context.Context, id int64) (escalation.Incident, error)
	Incidents(ctx context.Context, f escalation.IncidentFilter) ([]escalation.Incident, error)
	Policy() *escalation.Policy
}

// Token is one accepted bearer token and the name it is logged under.
type Token struct {
	Name  string
	Token string
	// ReadOnly tokens may only read: GET and HEAD. Wall displays and
	// dashboards get one so that a leaked token cannot resolve incidents,
	// replace the policy or start drills. The auth middleware refuses
	// every other method with 403; no handler has to remember it.
	ReadOnly bool
}

// Options wire optional features in; nil funcs answer 404/501-free defaults
// so the server works with only an Engine (tests, bring-up).
type Options struct {
	Engine Engine
	Tokens []Token
	Log    *slog.Logger

	// Health reports whether the database is writable and the engine runs.
	Health func(ctx context.Context) error
	// Status returns the /api/v1/status document.
	Status func(ctx context.Context) any
	// OnCall answers GET /api/v1/oncall.
	OnCall func(ctx context.Context, at time.Time) (any, error)
	// PolicyGet returns the policy as YAML; PolicyPut applies one.
	PolicyGet func(ctx context.Context) ([]byte, error)
	PolicyPut func(ctx context.Context, body []byte, by string) (any, error)
	// Heartbeat records a beat of heartbeat id.
	Heartbeat func(ctx context.Context, id string) error
	// Press presses a GPIO input (demo and bring-up).
	Press func(ctx context.Context, input string, long bool) error
	// Drill starts a test page for a service.
	Drill func(ctx context.Context, service, by string) (any, error)
	// Report answers GET /api/v1/report: the on-call report of the
	// incidents created in [since, until).
	Report func(ctx context.Context, since, until time.Time) (escalation.Report, error)
	// ObserveIngest, if set, is told how long each committed event of
	// every intake (http, pagerduty, alertmanager, grafana) took to ingest.
	ObserveIngest func(intake string, d time.Duration)
	// AckLinks, if set, serves the acknowledge links of e-mail, push and
	// chat at /a/{token} (acklink.go).
	AckLinks AckLinks
}

// Server serves the API. Create it with New.
type Server struct {
	ingest Ingester
	engine Engine
	policy func() *escalation.Policy
	log    *slog.Logger
	opts   Options
	mux    *http.ServeMux
	// routes lists every pattern registered on mux, in order, so that
	// tests can walk all of them (the read-only rule is checked on each).
	routes []string
}

// New returns a server with every route of docs/reference.md §5 registered.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{ingest: o.Engine, engine: o.Engine, policy: o.Engine.Policy, log: o.Log, opts: o, mux: http.NewServeMux()}
	if o.ObserveIngest != nil {
		s.ingest = timedIngester{o.Engine, o.ObserveIngest}
	}
	api := func(pattern string, h http.HandlerFunc) { s.Handle(pattern, s.auth(h)) }
	api("POST /api/v1/alerts", s.handleAlert)
	api("GET /api/v1/incidents", s.handleIncidents)
	api("GET /api/v1/incidents/{id}", s.handleIncident)
	api("POST /api/v1/incidents/{id}/ack", s.handleIncidentAction(s.transition(escalation.Acknowledged)))
	api("POST /api/v1/incidents/{id}/resolve", s.handleIncidentAction(s.transition(escalation.Resolved)))
	api("POST /api/v1/incidents/{id}/escalate", s.handleIncidentAction(s.engine.Escalate))
	api("GET /api/v1/oncall", s.handleOnCall)
	api("GET /api/v1/report", s.handleReport)
	api("GET /api/v1/status", s.handleStatus)
	api("GET /api/v1/policy", s.handlePolicyGet)
	api("PUT /api/v1/policy", s.handlePolicyPut)
	api("POST /api/v1/heartbeats/{id}", s.handleHeartbeat)
	api("POST /api/v1/gpio/inputs/{id}/press", s.handlePress)
	api("POST /api/v1/drill", s.handleDrill)
	api("POST /api/v1/webhooks/alertmanager/{service}", s.handleAlertmanager)
	api("POST /api/v1/webhooks/grafana/{service}", s.handleGrafana)
	// PagerDuty-compatible endpoints authenticate by routing key, like
	// PagerDuty itself, so tools need no extra header.
	s.Handle("POST /v2/enqueue", http.HandlerFunc(s.handlePagerDutyV2))
	s.Handle("POST /generic/2010-04-15/create_event.json", http.HandlerFunc(s.handlePagerDutyV1))
	s.Handle("GET /healthz", http.HandlerFunc(s.handleHealthz))
	if o.AckLinks != nil {
		s.mountAckLinks(o.AckLinks)
	}
	s.Handle("/api/", s.auth(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, escalation.NotFoundf("no such endpoint: %s %s", r.Method, r.URL.Path))
	}))
	return s
}

// Handle mounts an extra handler (metrics, console, demo phones).
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	s.routes = append(s.routes, pattern)
}

// Authenticated wraps h with the bearer-token check of /api/*.
func (s *Server) Authenticated(h http.HandlerFunc) http.Handler { return s.auth(h) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

type ctxKey struct{}

// caller is who sent a request: the token's (or console user's) name and
// whether it may only read.
type caller struct {
	name     string
	readOnly bool
}

// Caller returns the name of the token that authenticated r.
func Caller(r *http.Request) string {
	if v, ok := r.Context().Value(ctxKey{}).(caller); ok {
		return v.name
	}
	return ""
}

// WithCaller returns a request carrying name as the authenticated caller
// (for the console's cookie sessions). Such a caller may write; the
// console decides its own roles.
func WithCaller(r *http.Request, name string) *http.Request {
	return withCaller(r, caller{name: name})
}

func withCaller(r *http.Request, c caller) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
}

// readMethod reports whether a request with method m only reads.
func readMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// auth is the one place that decides who may do what on /api/*: a request
// needs a valid bearer token, and a read-only token may only read. Every
// write route, including those mounted from cmd with Authenticated, goes
// through it.
func (s *Server) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := r.Context().Value(ctxKey{}).(caller)
		if !ok || c.name == "" {
			t, found := s.lookup(r.Header.Get("Authorization"))
			if !found {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tocsin"`)
				msg := "missing bearer token: send Authorization: Bearer TOKEN"
				if r.Header.Get("Authorization") != "" {
					msg = "invalid bearer token"
				}
				writeJSON(w, http.StatusUnauthorized, apiError{Error: msg})
				return
			}
			c = caller{name: t.Name, readOnly: t.ReadOnly}
		}
		if c.readOnly && !readMethod(r.Method) {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusForbidden, apiError{
				Error: fmt.Sprintf("token %q is read-only: it may only read", c.name),
				Field: "authorization",
			})
			return
		}
		h(w, withCaller(r, c))
	})
}

// Check validates an Authorization header value and returns the token name.
func (s *Server) Check(header string) (string, bool) {
	t, ok := s.lookup(header)
	return t.Name, ok
}

// lookup finds the token an Authorization header value carries.
func (s *Server) lookup(header string) (Token, bool) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return Token{}, false
	}
	var (
		match Token
		found bool
	)
	for _, t := range s.opts.Tokens {
		// Compare every token in constant time so timing tells nothing.
		if subtle.ConstantTimeCompare([]byte(t.Token), []byte(tok)) == 1 && !found {
			match, found = t, true
		}
	}
	return match, found
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// statusOf maps a domain error to an HTTP status. It is the only place
// that does.
func statusOf(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType
	}
	switch escalation.KindOf(err) {
	case escalation.Invalid:
		return http.StatusBadRequest
	case escalation.NotFound:
		return http.StatusNotFound
	case escalation.Conflict:
		return http.StatusConflict
	case escalation.Unavailable:
		return http.StatusServiceUnavailable
	case escalation.Gone:
		return http.StatusGone
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	code := statusOf(err)
	msg := err.Error()
	if code == http.StatusRequestEntityTooLarge {
		msg = fmt.Sprintf("request body is larger than %d bytes", MaxBody)
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, apiError{Error: msg, Field: escalation.FieldOf(err)})
}

var errUnsupportedMedia = errors.New("unsupported media type")

// readJSON reads a body of at most MaxBody bytes that must be JSON (or
// carry no Content-Type at all).
func readJSON(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, fmt.Errorf("%w: Content-Type %q; send application/json", errUnsupportedMedia, ct)
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, escalation.Invalidf("", "reading body: %v", err)
	}
	return b, nil
}

func (s *Server) handleAlert(w http.ResponseWriter, r *http.Request) {
	body, err := readJSON(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	ev, err := escalation.DecodeAlert(body, "")
	if err != nil {
		writeError(w, err)
		return
	}
	ev.Intake = "http"
	res, err := s.ingest.Ingest(r.Context(), ev)
	if err != nil {
		s.log.Warn("alert rejected", "caller", Caller(r), "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

func (s *Server) handleIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f escalation.IncidentFilter
	if v := q.Get("status"); v != "" {
		if v == "open" {
			f.Open = true
		} else {
			st, err := escalation.ParseStatus(v)
			if err != nil {
				writeError(w, escalation.Invalidf("status", "%v", err))
				return
			}
			f.Status = st
		}
	}
	f.Service = q.Get("service")
	var err error
	if f.Limit, err = limitParam(q.Get("limit")); err != nil {
		writeError(w, err)
		return
	}
	if f.Offset, err = intParam(q.Get("offset"), "offset", 0, 0, 1<<31-1); err != nil {
		writeError(w, err)
		return
	}
	if v := q.Get("before"); v != "" {
		if f.Before, err = strconv.ParseInt(strings.TrimPrefix(v, "#"), 10, 64); err != nil || f.Before <= 0 {
			writeError(w, escalation.Invalidf("before", "before must be an incident id (the last id of the previous page), not %q", v))
			return
		}
	}
	incs, err := s.engine.Incidents(r.Context(), f)
	if err != nil {
		writeError(w, err)
		return
	}
	if len(incs) == f.Limit {
		// A full page: tell the client where the next one starts.
		next := r.URL.Query()
		next.Del("offset")
		next.Set("before", strconv.FormatInt(incs[len(incs)-1].ID, 10))
		w.Header().Set("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", r.URL.Path, next.Encode()))
	}
	writeJSONList(w, incs)
}

// List sizes of GET /api/v1/incidents. The maximum bounds what one
// request costs the daemon (a page of 1,000 incidents is about 1 MB of
// JSON); longer histories are read page by page.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// limitParam reads a list's limit: DefaultListLimit when absent, a 400
// naming MaxListLimit when above it.
func limitParam(v string) (int, error) {
	if v == "" {
		return DefaultListLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, escalation.Invalidf("limit", "limit must be a whole number from 1 to %d, not %q", MaxListLimit, v)
	}
	if n > MaxListLimit {
		return 0, escalation.Invalidf("limit", "limit %d is above the maximum of %d", n, MaxListLimit)
	}
	return n, nil
}

// writeJSONList writes a JSON array one element at a time, so that a
// page costs the encoder one element's buffer, not a copy of the page.
func writeJSONList[T any](w http.ResponseWriter, items []T) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	io.WriteString(w, "[")
	for i := range items {
		if i > 0 {
			io.WriteString(w, ",")
		}
		if enc.Encode(items[i]) != nil {
			return
		}
	}
	io.WriteString(w, "]\n")
}

func intParam(v, name string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, escalation.Invalidf(name, "%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

func incidentID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.PathValue("id"), "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, escalation.Invalidf("id", "incident id must be a positive number, not %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) handleIncident(w http.ResponseWriter, r *http.Request) {
	id, err := incidentID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	inc, err := s.engine.IncidentDetail(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

type byBody struct {
	By string `json:"by"`
}

// readBy reads the optional {by} body; the token name is the default.
func readBy(w http.ResponseWriter, r *http.Request) (string, error) {
	body, err := readJSON(w, r)
	if err != nil {
		return "", err
	}
	var b byBody
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &b); err != nil {
			return "", escalation.Invalidf("by", "body must be {\"by\": \"name\"}: %v", err)
		}
	}
	if b.By == "" {
		b.By = Caller(r)
	}
	return b.By, nil
}

// handleIncidentAction serves POST /api/v1/incidents/{id}/ack, /resolve
// and /escalate: an id in the path, an optional {by}, the incident back.
func (s *Server) handleIncidentAction(act func(ctx context.Context, id int64, by string) (escalation.Incident, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := incidentID(r)
		if err != nil {
			writeError(w, err)
			return
		}
		by, err := readBy(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		inc, err := act(r.Context(), id, by)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, inc)
	}
}

func (s *Server) transition(to escalation.Status) func(ctx context.Context, id int64, by string) (escalation.Incident, error) {
	return func(ctx context.Context, id int64, by string) (escalation.Incident, error) {
		return s.engine.Transition(ctx, id, to, by, "api")
	}
}

func (s *Server) handleOnCall(w http.ResponseWriter, r *http.Request) {
	if s.opts.OnCall == nil {
		writeError(w, escalation.NotFoundf("on-call schedules are not available"))
		return
	}
	at := time.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, escalation.Invalidf("at", "at must be an RFC 3339 time such as 2026-12-01T18:00:00+09:00"))
			return
		}
		at = t
	}
	v, err := s.opts.OnCall(r.Context(), at)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// handleReport answers GET /api/v1/report?since=30d.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	if s.opts.Report == nil {
		writeError(w, escalation.NotFoundf("the on-call report is not available"))
		return
	}
	span := escalation.DefaultReportSpan
	if v := r.URL.Query().Get("since"); v != "" {
		d, err := escalation.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, escalation.Invalidf("since", "since %q: want a positive duration such as 30d or 12h", v))
			return
		}
		span = d
	}
	until := time.Now()
	rep, err := s.opts.Report(r.Context(), until.Add(-span), until)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if s.opts.Status == nil {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Status(r.Context()))
}

func (s *Server) handlePolicyGet(w http.ResponseWriter, r *http.Request) {
	if s.opts.PolicyGet == nil {
		writeError(w, escalation.NotFoundf("policy export is not available"))
		return
	}
	b, err := s.opts.PolicyGet(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, s.policy())
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Write(b)
}

func (s *Server) handlePolicyPut(w http.ResponseWriter, r *http.Request) {
	if s.opts.PolicyPut == nil {
		writeError(w, escalation.NotFoundf("policy apply is not available"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := s.opts.PolicyPut(r.Context(), body, Caller(r))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	if s.opts.Heartbeat == nil {
		writeError(w, escalation.NotFoundf("heartbeats are not available"))
		return
	}
	if err := s.opts.Heartbeat(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"heartbeat": r.PathValue("id"), "status": "ok"})
}

func (s *Server) handlePress(w http.ResponseWriter, r *http.Request) {
	if s.opts.Press == nil {
		writeError(w, escalation.NotFoundf("GPIO is not available"))
		return
	}
	long := r.URL.Query().Get("long") == "true" || r.URL.Query().Get("long") == "1"
	if err := s.opts.Press(r.Context(), r.PathValue("id"), long); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"input": r.PathValue("id"), "long": long})
}

func (s *Server) handleDrill(w http.ResponseWriter, r *http.Request) {
	if s.opts.Drill == nil {
		writeError(w, escalation.NotFoundf("drills are not available"))
		return
	}
	v, err := s.opts.Drill(r.Context(), r.URL.Query().Get("service"), Caller(r))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, v)
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Health != nil {
		if err := s.opts.Health(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, apiError{Error: err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
