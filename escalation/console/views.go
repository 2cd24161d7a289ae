package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// pageNames are the templates in templates/, each rendered inside
// layout.html (or alone, its "main" block, for live updates).
var pageNames = []string{"login", "incidents", "incident", "confirm", "oncall", "health", "policy", "phones"}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"bars": func(n int) []bool {
			out := make([]bool, 4)
			for i := range out {
				out[i] = i < n
			}
			return out
		},
		"join": strings.Join,
		// rowArgs passes the page and one row to a nested template.
		"rowArgs": func(p *pageData, row any) rowArgs { return rowArgs{P: p, Row: row} },
	}
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// rowArgs is the argument of the "row" and "actions" templates.
type rowArgs struct {
	P   *pageData
	Row any
}

// pageData is what every template gets; Data is the page's own view.
type pageData struct {
	L        lang
	LoggedIn bool
	User     string
	ReadOnly bool
	CSRF     string
	Nav      string
	Phones   bool
	Path     string
	Zone     *time.Location
	Now      time.Time
	// Unacked counts unacknowledged incidents (up to countCap), for the
	// tab title, the alarm sound and browser notifications.
	Unacked int
	Pol     *escalation.Policy
	Data    any

	Ready escalation.Readiness // a banner on every page while nobody can be paged
}

// Time formats t in the display zone (the policy's time zone) with the
// zone's label: "15:04:05 JST".
func (p *pageData) Time(t time.Time) string { return zoneTime(t, p.Now, p.Zone) }

// TimeP formats an optional time.
func (p *pageData) TimeP(t *time.Time) string {
	if t == nil {
		return ""
	}
	return p.Time(*t)
}

// ISO is t for the datetime attribute and the age script.
func (p *pageData) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Age is how long ago t was, shortly ("3m", "2h 5m", "4d 2h").
func (p *pageData) Age(t time.Time) string { return p.L.age(p.Now.Sub(t)) }

// Dur is a delay or a countdown ("1m10s").
func (p *pageData) Dur(d time.Duration) string { return p.L.dur(d) }

// In is the countdown to t: "in 1m10s".
func (p *pageData) In(t time.Time) string { return fmt.Sprintf(p.L.T("in_dur"), p.L.dur(t.Sub(p.Now))) }

// ZoneLabel is the display zone's abbreviation ("JST").
func (p *pageData) ZoneLabel() string { return p.Now.In(p.Zone).Format("MST") }

// State is a notification's state in words.
func (p *pageData) State(n escalation.Notification) pageState { return p.L.stateOf(n) }

// Channel is a channel's name in words.
func (p *pageData) Channel(ch escalation.Channel) string { return p.L.channel(ch) }

// Line is a timeline entry in the reader's language, with names for ids.
func (p *pageData) Line(e escalation.TimelineEntry) line {
	r := lineReader{l: p.L, n: names{p.policy()}, now: p.Now, zone: p.Zone}
	return r.line(e)
}

// Service is a service's name (its id when it has none).
func (p *pageData) Service(id string) string { return names{p.policy()}.service(id) }

// Who is the person behind an id: a contact's name, or the login or
// intake name as recorded.
func (p *pageData) Who(id string) string { return contactName(p.policy(), id) }

func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// ContactName is a contact's display name.
func (p *pageData) ContactName(id string) string {
	return contactName(p.policy(), id)
}

func (p *pageData) policy() *escalation.Policy {
	if v, ok := p.Data.(interface{ pol() *escalation.Policy }); ok && v.pol() != nil {
		return v.pol()
	}
	if p.Pol != nil {
		return p.Pol
	}
	return &escalation.Policy{}
}

func contactName(pol *escalation.Policy, id string) string {
	if c, ok := pol.Contact(id); ok && c.Name != "" {
		return c.Name
	}
	return id
}

func (c *Console) displayZone() *time.Location {
	pol := c.opts.Engine.Policy()
	if pol != nil && pol.Settings.TimeZone != "" {
		if loc, err := escalation.LoadZone(pol.Settings.TimeZone); err == nil {
			return loc
		}
	}
	return time.Local
}

// render writes page name with data; "?partial=1" renders only the page's
// main block, which the live-update script swaps in.
func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, name string, rq request, nav string, data any) {
	pd := pageData{L: rq.lang, Nav: nav, Phones: c.opts.Phones != nil, Path: r.URL.Path, Zone: c.displayZone(), Now: time.Now(),
		Pol: c.opts.Engine.Policy(), Data: data}
	if rq.sess != nil {
		pd.LoggedIn, pd.User, pd.ReadOnly, pd.CSRF = true, rq.sess.user, rq.sess.readOnly, rq.sess.csrf
		pd.Ready = escalation.CheckReadiness(pd.Pol)
		if v, ok := data.(incidentsView); ok {
			pd.Unacked = v.Triggered
		} else {
			pd.Unacked = c.count(r, escalation.Triggered)
		}
	}
	tmpl := "layout"
	if r.URL.Query().Get("partial") != "" {
		tmpl = "main"
	}
	var buf bytes.Buffer
	err := c.pages[name].ExecuteTemplate(&buf, tmpl, &pd)
	if err == nil && tmpl == "main" {
		err = c.pages[name].ExecuteTemplate(&buf, "summary", &pd)
	}
	if err != nil {
		c.log.Error("console: rendering", "page", name, "err", err)
		http.Error(w, "rendering "+name+" failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// incidentRow is one incident in the list, with who was paged and what
// comes next.
type incidentRow struct {
	escalation.Incident
	Paged []pagedTo
	Next  *nextStep
	// LoopNo and Loops say "loop 2 of 3" when the policy repeats.
	LoopNo, Loops int
}

// pagedTo is one person paged about an incident by one channel, and how
// that went, in words.
type pagedTo struct {
	Who     string
	Channel escalation.Channel
	State   pageState
}

// nextStep is the incident's next escalation step as the console shows
// it: "next: Suzuki Hanako by SMS at 15:50 JST (in 1m10s)".
type nextStep struct {
	At        time.Time
	Who       string
	Level     int
	Retrigger bool
}

type incidentsView struct {
	Open      []incidentRow
	Triggered int // unacknowledged incidents, counted up to countCap
	Acked     int // acknowledged ones, counted up to countCap
	Resolved  []incidentRow
	// Older links to the next page of open incidents; empty on the last.
	Older string
	// First is true on the first page (the newest incidents).
	First  bool
	policy *escalation.Policy
}

// Bounds of the incidents page, so that an alarm storm of thousands of
// incidents keeps every request (and every live refresh) small: a page
// lists at most pageSize open incidents and links to the older ones, and
// counts stop at countCap.
const (
	pageSize = 50
	countCap = 1000
)

// OpenTotal is how many incidents are open, as far as counted.
func (v incidentsView) OpenTotal() int { return v.Triggered + v.Acked }

// Capped says the counts stopped at countCap ("1000+").
func (v incidentsView) Capped() bool { return v.Triggered >= countCap || v.Acked >= countCap }

func (v incidentsView) pol() *escalation.Policy { return v.policy }

// count counts incidents in status st, up to countCap.
func (c *Console) count(r *http.Request, st escalation.Status) int {
	incs, err := c.opts.Engine.Incidents(r.Context(), escalation.IncidentFilter{Status: st, Limit: countCap})
	if err != nil {
		c.log.Warn("console: counting incidents", "status", st, "err", err)
		return 0
	}
	return len(incs)
}

// cursor is where a page of open incidents starts: unacknowledged
// incidents come first (newest first), then acknowledged ones; t and a are
// how many of each earlier pages listed.
type cursor struct{ t, a int }

func parseCursor(r *http.Request) cursor {
	atoi := func(k string) int {
		n, err := strconv.Atoi(r.URL.Query().Get(k))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	return cursor{t: atoi("t"), a: atoi("a")}
}

func (c *Console) handleIncidents(w http.ResponseWriter, r *http.Request, rq request) {
	ctx := r.Context()
	cur := parseCursor(r)
	pol := c.opts.Engine.Policy()
	v := incidentsView{policy: pol, First: cur == cursor{}}
	// One more than a page, to know whether there is an older page.
	trig, err := c.opts.Engine.Incidents(ctx, escalation.IncidentFilter{Status: escalation.Triggered, Limit: pageSize + 1, Offset: cur.t})
	if err != nil {
		c.fail(w, r, errorStatus(err), err.Error())
		return
	}
	more := len(trig) > pageSize
	trig = trig[:min(len(trig), pageSize)]
	var acked []escalation.Incident
	if !more {
		acked, err = c.opts.Engine.Incidents(ctx, escalation.IncidentFilter{Status: escalation.Acknowledged,
			Limit: pageSize - len(trig) + 1, Offset: cur.a})
		if err != nil {
			c.fail(w, r, errorStatus(err), err.Error())
			return
		}
		more = len(acked) > pageSize-len(trig)
		acked = acked[:min(len(acked), pageSize-len(trig))]
	}
	if more {
		v.Older = fmt.Sprintf("/?t=%d&a=%d", cur.t+len(trig), cur.a+len(acked))
	}
	// Within the page: the most severe first, then the newest.
	bySeverity := func(a, b escalation.Incident) int {
		if d := int(a.Severity) - int(b.Severity); d != 0 {
			return d
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	}
	slices.SortStableFunc(trig, bySeverity)
	slices.SortStableFunc(acked, bySeverity)
	now := time.Now()
	for _, inc := range append(trig, acked...) {
		v.Open = append(v.Open, c.row(r, pol, inc, now))
	}
	v.Triggered, v.Acked = c.count(r, escalation.Triggered), c.count(r, escalation.Acknowledged)
	if v.First {
		resolved, err := c.opts.Engine.Incidents(ctx, escalation.IncidentFilter{Status: escalation.Resolved, Limit: 20})
		if err != nil {
			c.fail(w, r, errorStatus(err), err.Error())
			return
		}
		for _, inc := range resolved {
			v.Resolved = append(v.Resolved, incidentRow{Incident: inc})
		}
	}
	c.render(w, r, http.StatusOK, "incidents", rq, "incidents", v)
}

// row is one open incident with who was paged, what comes next and its
// loop.
func (c *Console) row(r *http.Request, pol *escalation.Policy, inc escalation.Incident, now time.Time) incidentRow {
	row := incidentRow{Incident: inc, Paged: c.paged(r, pol, inc.ID), LoopNo: inc.Loop + 1, Loops: loops(pol, inc)}
	row.Next = c.next(r, pol, inc.ID, now)
	return row
}

// loops is how many loops the incident's escalation policy runs.
func loops(pol *escalation.Policy, inc escalation.Incident) int {
	if svc, ok := pol.Service(inc.Service); ok {
		if ep, ok := pol.EscalationPolicy(svc.EscalationPolicy); ok {
			return ep.Repeat + 1
		}
	}
	return 1
}

// next asks the engine what it will do next for incident id, and says it
// with names: "Suzuki Hanako by SMS + voice call, zone line1".
func (c *Console) next(r *http.Request, pol *escalation.Policy, id int64, now time.Time) *nextStep {
	up, ok, err := c.opts.Engine.NextStep(r.Context(), id, now)
	if err != nil {
		c.log.Warn("console: next step", "incident", id, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	l := pickLang(r)
	var (
		order []string
		chans = map[string][]string{}
	)
	for _, p := range up.Pages {
		if _, seen := chans[p.ContactID]; !seen {
			order = append(order, p.ContactID)
		}
		chans[p.ContactID] = append(chans[p.ContactID], l.channel(p.Channel))
	}
	var who []string
	for _, id := range order {
		who = append(who, fmt.Sprintf(l.T("who_by"), contactName(pol, id), strings.Join(chans[id], " + ")))
	}
	for _, z := range up.Zones {
		who = append(who, fmt.Sprintf(l.T("zone_n"), z))
	}
	if len(who) == 0 {
		who = append(who, l.T("nobody_on_call"))
	}
	return &nextStep{At: up.At, Who: strings.Join(who, l.T("list_sep")), Level: up.Level, Retrigger: up.Retrigger}
}

// paged summarises the pages of an incident: each contact and channel
// once, with the newest outcome in words.
func (c *Console) paged(r *http.Request, pol *escalation.Policy, id int64) []pagedTo {
	if c.opts.Pages == nil {
		return nil
	}
	ns, err := c.opts.Pages(r.Context(), id)
	if err != nil {
		c.log.Warn("console: listing pages", "incident", id, "err", err)
		return nil
	}
	l := pickLang(r)
	var out []pagedTo
	at := map[string]int{}
	// Pages come newest first; show them oldest first.
	for _, n := range slices.Backward(ns) {
		if n.Level == 0 { // confirmations and tests, not pages
			continue
		}
		p := pagedTo{Who: contactName(pol, n.ContactID), Channel: n.Channel, State: l.stateOf(n)}
		key := n.ContactID + "/" + string(n.Channel)
		if i, seen := at[key]; seen {
			out[i] = p
			continue
		}
		at[key] = len(out)
		out = append(out, p)
	}
	return out
}

type incidentView struct {
	incidentRow
	Pages  []escalation.Notification
	policy *escalation.Policy
}

func (v incidentView) pol() *escalation.Policy { return v.policy }

func (c *Console) handleIncident(w http.ResponseWriter, r *http.Request, rq request) {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.PathValue("id"), "#"), 10, 64)
	if err != nil || id <= 0 {
		c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("incident id must be a positive number, not %q", r.PathValue("id")))
		return
	}
	inc, err := c.opts.Engine.Incident(r.Context(), id)
	if err != nil {
		c.fail(w, r, errorStatus(err), err.Error())
		return
	}
	pol := c.opts.Engine.Policy()
	v := incidentView{incidentRow: incidentRow{Incident: inc, LoopNo: inc.Loop + 1, Loops: loops(pol, inc)}, policy: pol}
	if inc.Open() {
		v.Next = c.next(r, pol, id, time.Now())
	}
	if c.opts.Pages != nil {
		if v.Pages, err = c.opts.Pages(r.Context(), id); err != nil {
			c.log.Warn("console: listing pages", "incident", id, "err", err)
		}
		slices.Reverse(v.Pages)
	}
	c.render(w, r, http.StatusOK, "incident", rq, "incidents", v)
}

// handleAction acknowledges, resolves or escalates an incident for the
// logged-in user. The page's script posts with Accept: application/json
// and gets the incident back; a plain form post is redirected back.
func (c *Console) handleAction(w http.ResponseWriter, r *http.Request, rq request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("incident id must be a positive number, not %q", r.PathValue("id")))
		return
	}
	ctx, by := r.Context(), rq.sess.user
	action := r.PathValue("action")
	// Resolving and escalating cannot be undone, so a plain form post
	// (no JavaScript) first gets a page that asks again; the page's script
	// asks on the button itself and posts as JSON.
	if (action == "resolve" || action == "escalate") && !wantsJSON(r) && r.PostFormValue("confirm") != "yes" {
		inc, err := c.opts.Engine.Incident(ctx, id)
		if err != nil {
			c.fail(w, r, errorStatus(err), err.Error())
			return
		}
		c.render(w, r, http.StatusOK, "confirm", rq, "incidents", confirmView{Incident: inc, Action: action,
			Next: safeNext(r.PostFormValue("next")), policy: c.opts.Engine.Policy()})
		return
	}
	var inc escalation.Incident
	switch action {
	case "ack":
		inc, err = c.opts.Engine.Transition(ctx, id, escalation.Acknowledged, by, "console")
	case "resolve":
		inc, err = c.opts.Engine.Transition(ctx, id, escalation.Resolved, by, "console")
	case "escalate":
		inc, err = c.opts.Engine.Escalate(ctx, id, by)
	default:
		c.fail(w, r, http.StatusNotFound, fmt.Sprintf("unknown action %q: want ack, resolve or escalate", r.PathValue("action")))
		return
	}
	if err != nil {
		c.fail(w, r, errorStatus(err), err.Error())
		return
	}
	c.log.Info("console action", "user", by, "action", action, "incident", id)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, inc)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// confirmView asks "Resolve #3 Hydraulic pressure low?" before a form
// post without JavaScript changes anything.
type confirmView struct {
	Incident escalation.Incident
	Action   string
	Next     string
	policy   *escalation.Policy
}

func (v confirmView) pol() *escalation.Policy { return v.policy }

// onCallRow is one schedule: who now, until when, who next, overrides.
type onCallRow struct {
	Schedule  escalation.Schedule
	Now       []string
	Until     time.Time
	Next      []string
	Overrides []overrideRow
}

type overrideRow struct {
	Who        string
	Start, End time.Time
	Active     bool
}

type onCallView struct {
	Rows   []onCallRow
	Error  string
	policy *escalation.Policy
}

func (v onCallView) pol() *escalation.Policy { return v.policy }

func (c *Console) handleOnCall(w http.ResponseWriter, r *http.Request, rq request) {
	pol := c.opts.Engine.Policy()
	now := time.Now()
	v := onCallView{policy: pol}
	names := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = contactName(pol, id)
		}
		return out
	}
	for _, s := range pol.Schedules {
		if s.TimeZone == "" {
			s.TimeZone = pol.Settings.TimeZone
		}
		cur, err := escalation.OnCall(s, now)
		if err != nil {
			v.Error += fmt.Sprintf("%s: %v\n", s.ID, err)
			continue
		}
		row := onCallRow{Schedule: s, Now: names(cur.Contacts), Until: cur.Until}
		if !cur.Until.IsZero() {
			if next, err := escalation.OnCall(s, cur.Until); err == nil {
				row.Next = names(next.Contacts)
			}
		}
		for _, o := range s.Overrides {
			if o.End.After(now) {
				row.Overrides = append(row.Overrides, overrideRow{Who: contactName(pol, o.Contact), Start: o.Start, End: o.End,
					Active: !o.Start.After(now)})
			}
		}
		slices.SortFunc(row.Overrides, func(a, b overrideRow) int { return a.Start.Compare(b.Start) })
		v.Rows = append(v.Rows, row)
	}
	c.render(w, r, http.StatusOK, "oncall", rq, "oncall", v)
}

type policyView struct {
	*escalation.Policy
}

func (v policyView) pol() *escalation.Policy { return v.Policy }

func (c *Console) handlePolicy(w http.ResponseWriter, r *http.Request, rq request) {
	c.render(w, r, http.StatusOK, "policy", rq, "policy", policyView{c.opts.Engine.Policy()})
}

func (c *Console) handlePolicyExport(w http.ResponseWriter, r *http.Request, rq request) {
	if c.opts.PolicyExport == nil {
		c.fail(w, r, http.StatusNotFound, "policy export is not available")
		return
	}
	b, err := c.opts.PolicyExport(r.Context())
	if err != nil {
		c.fail(w, r, errorStatus(err), err.Error())
		return
	}
	name := "policy.yaml"
	if v := c.opts.Engine.Policy().Version; v > 0 {
		name = fmt.Sprintf("policy-v%d.yaml", v)
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(b)
}
