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
var pageNames = []string{"login", "incidents", "incident", "oncall", "health", "policy", "phones"}

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
	Data     any

	Ready escalation.Readiness // a banner on every page while nobody can be paged
}

// Time formats t in the display zone (the policy's time zone).
func (p *pageData) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(p.Zone)
	if y, m, d := t.Date(); y == p.Now.In(p.Zone).Year() && m == p.Now.In(p.Zone).Month() && d == p.Now.In(p.Zone).Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

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
func (p *pageData) Age(t time.Time) string { return age(p.Now.Sub(t)) }

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
	if v, ok := p.Data.(interface{ pol() *escalation.Policy }); ok {
		return v.pol()
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
	pd := pageData{L: rq.lang, Nav: nav, Phones: c.opts.Phones != nil, Path: r.URL.Path, Zone: c.displayZone(), Now: time.Now(), Data: data}
	if rq.sess != nil {
		pd.LoggedIn, pd.User, pd.ReadOnly, pd.CSRF = true, rq.sess.user, rq.sess.readOnly, rq.sess.csrf
		pd.Ready = escalation.CheckReadiness(c.opts.Engine.Policy())
	}
	tmpl := "layout"
	if r.URL.Query().Get("partial") != "" {
		tmpl = "main"
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, tmpl, &pd); err != nil {
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

// incidentRow is one incident in the list, with who was paged.
type incidentRow struct {
	escalation.Incident
	Paged []pagedTo
}

// pagedTo is one person paged about an incident and how it went.
type pagedTo struct {
	Who     string
	Channel escalation.Channel
	Status  escalation.NotificationStatus
}

type incidentsView struct {
	Open      []incidentRow
	OpenTotal int // open incidents, also those not shown
	Resolved  []incidentRow
	policy    *escalation.Policy
}

// Limits of the incidents page, so that an alarm storm of thousands of
// incidents does not make every live refresh slow.
const (
	maxOpenShown  = 200 // open incidents listed
	maxPagedShown = 50  // of those, how many say who was paged (one query each)
)

// More is how many open incidents are not listed.
func (v incidentsView) More() int { return v.OpenTotal - len(v.Open) }

func (v incidentsView) pol() *escalation.Policy { return v.policy }

// statusRank puts triggered before acknowledged before resolved.
func statusRank(s escalation.Status) int {
	switch s {
	case escalation.Triggered:
		return 0
	case escalation.Acknowledged:
		return 1
	}
	return 2
}

func (c *Console) handleIncidents(w http.ResponseWriter, r *http.Request, rq request) {
	ctx := r.Context()
	open, err := c.opts.Engine.Incidents(ctx, escalation.IncidentFilter{Open: true, Limit: 100000})
	if err != nil {
		c.fail(w, r, errorStatus(err), err.Error())
		return
	}
	resolved, err := c.opts.Engine.Incidents(ctx, escalation.IncidentFilter{Status: escalation.Resolved, Limit: 20})
	if err != nil {
		c.fail(w, r, errorStatus(err), err.Error())
		return
	}
	// Open first: unacknowledged, then the most severe, then the newest.
	slices.SortStableFunc(open, func(a, b escalation.Incident) int {
		if d := statusRank(a.Status) - statusRank(b.Status); d != 0 {
			return d
		}
		if d := int(a.Severity) - int(b.Severity); d != 0 {
			return d
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	pol := c.opts.Engine.Policy()
	v := incidentsView{policy: pol, OpenTotal: len(open)}
	// In an alarm storm the page stays quick: the most urgent incidents
	// are shown, the rest counted.
	if len(open) > maxOpenShown {
		open = open[:maxOpenShown]
	}
	for i, inc := range open {
		row := incidentRow{Incident: inc}
		if i < maxPagedShown {
			row.Paged = c.paged(r, pol, inc.ID)
		}
		v.Open = append(v.Open, row)
	}
	for _, inc := range resolved {
		v.Resolved = append(v.Resolved, incidentRow{Incident: inc})
	}
	c.render(w, r, http.StatusOK, "incidents", rq, "incidents", v)
}

// paged summarises the pages of an incident: each contact and channel
// once, with the newest outcome.
func (c *Console) paged(r *http.Request, pol *escalation.Policy, id int64) []pagedTo {
	if c.opts.Pages == nil {
		return nil
	}
	ns, err := c.opts.Pages(r.Context(), id)
	if err != nil {
		c.log.Warn("console: listing pages", "incident", id, "err", err)
		return nil
	}
	var out []pagedTo
	seen := map[string]bool{}
	// Pages come newest first; show them oldest first.
	for _, n := range slices.Backward(ns) {
		if n.Level == 0 { // confirmations and tests, not pages
			continue
		}
		key := n.ContactID + "/" + string(n.Channel)
		if seen[key] {
			for i := range out {
				if out[i].Who == contactName(pol, n.ContactID) && out[i].Channel == n.Channel {
					out[i].Status = n.Status
				}
			}
			continue
		}
		seen[key] = true
		out = append(out, pagedTo{Who: contactName(pol, n.ContactID), Channel: n.Channel, Status: n.Status})
	}
	return out
}

type incidentView struct {
	escalation.Incident
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
	v := incidentView{Incident: inc, policy: c.opts.Engine.Policy()}
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
	var inc escalation.Incident
	switch r.PathValue("action") {
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
	c.log.Info("console action", "user", by, "action", r.PathValue("action"), "incident", id)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, inc)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

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

// Target describes one notify target of a level.
func (v policyView) Target(t escalation.Target) string {
	var s string
	switch {
	case t.Schedule != "":
		s = "schedule " + t.Schedule
	case t.Contact != "":
		s = contactName(v.Policy, t.Contact)
	case t.Zone != "":
		return "zone " + t.Zone
	}
	if len(t.Via) > 0 {
		via := make([]string, len(t.Via))
		for i, ch := range t.Via {
			via[i] = string(ch)
		}
		s += " (" + strings.Join(via, ", ") + ")"
	}
	return s
}

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
