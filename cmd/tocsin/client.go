package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
)

// clientCommands operate a running daemon through its API.
var clientCommands = map[string]func(ctx context.Context, args []string, out io.Writer) error{
	"alert":     cmdAlert,
	"incidents": cmdIncidents,
	"show":      cmdShow,
	"ack":       transitionCmd("ack"),
	"resolve":   transitionCmd("resolve"),
	"escalate":  transitionCmd("escalate"),
	"oncall":    cmdOnCall,
	"status":    cmdStatus,
	"policy":    cmdPolicy,
	"drill":     cmdDrill,
	"report":    cmdReport,
	"gpio":      cmdGPIO,
	"sim":       cmdSim,
}

// client talks to the daemon's API.
type client struct {
	base  string
	token string
	http  *http.Client
}

// clientFlags adds --server, --token-file and -c to fs.
type clientFlags struct {
	server, tokenFile, config *string
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		server:    fs.String("server", "", "daemon URL (default $TOCSIN_SERVER, the config's http.listen, or http://127.0.0.1:8080)"),
		tokenFile: fs.String("token-file", "", "file holding the API token (default $TOCSIN_TOKEN or the config's first token)"),
		config:    fs.String("c", "", "daemon config, to find the server and token"),
	}
}

func (f clientFlags) client() (*client, error) {
	c := &client{http: &http.Client{Timeout: 30 * time.Second}}
	var cfg *Config
	if *f.config != "" {
		var err error
		if cfg, err = loadConfig(*f.config); err != nil {
			return nil, err
		}
	}
	switch {
	case *f.server != "":
		c.base = *f.server
	case os.Getenv("TOCSIN_SERVER") != "":
		c.base = os.Getenv("TOCSIN_SERVER")
	case cfg != nil:
		scheme := "http"
		if cfg.HTTP.TLS != nil {
			scheme = "https"
		}
		c.base = scheme + "://" + strings.Replace(cfg.HTTP.Listen, "0.0.0.0", "127.0.0.1", 1)
	default:
		c.base = "http://127.0.0.1:8080"
	}
	c.base = strings.TrimRight(c.base, "/")
	switch {
	case *f.tokenFile != "":
		t, err := readSecret(*f.tokenFile)
		if err != nil {
			return nil, err
		}
		c.token = t
	case os.Getenv("TOCSIN_TOKEN") != "":
		c.token = os.Getenv("TOCSIN_TOKEN")
	case cfg != nil:
		toks, err := cfg.tokens()
		if err != nil {
			return nil, err
		}
		if len(toks) > 0 {
			c.token = toks[0].Token
		}
	default:
		c.token = "demo" // the demo daemon's token
	}
	return c, nil
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (c *client) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
		ctype = "application/yaml"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the daemon at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = data
		return nil
	default:
		return json.Unmarshal(data, out)
	}
}

func cmdAlert(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("alert")
	cf := addClientFlags(fs)
	var a escalation.AlertJSON
	fs.StringVar(&a.Service, "service", "", "service id (required)")
	fs.StringVar(&a.Summary, "summary", "", "what is wrong (required to trigger)")
	fs.StringVar(&a.Severity, "severity", "error", "critical, error, warning or info")
	fs.StringVar(&a.DedupKey, "dedup-key", "", "dedup key (default: a new incident)")
	fs.StringVar(&a.Source, "source", "cli", "the affected thing")
	fs.StringVar(&a.Action, "action", "trigger", "trigger, acknowledge or resolve")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("alert", "unexpected argument %q", fs.Arg(0))
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var res escalation.IngestResult
	if err := c.do(ctx, "POST", "/api/v1/alerts", a, &res); err != nil {
		return err
	}
	w := output()
	if res.New {
		fmt.Fprintf(out, w.Opened+"\n", res.IncidentID, w.state(string(res.Status)), res.DedupKey)
	} else if res.Dropped {
		fmt.Fprintf(out, w.NotOpen+"\n", res.DedupKey)
	} else {
		fmt.Fprintf(out, w.Added+"\n", res.IncidentID, w.state(string(res.Status)))
	}
	return nil
}

func cmdIncidents(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("incidents")
	cf := addClientFlags(fs)
	status := fs.String("status", "", "triggered, acknowledged, resolved or open")
	limit := fs.Int("limit", 50, "how many, newest first (fetched in pages of at most 1000)")
	all := fs.Bool("all", false, "every incident, newest first, page by page")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("incidents", "unexpected argument %q", fs.Arg(0))
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if *limit < 1 && !*all {
		return fmt.Errorf("--limit %d: want at least 1, or --all", *limit)
	}
	q := url.Values{}
	if *status != "" {
		q.Set("status", *status)
	}
	incs, err := c.incidents(ctx, q, *limit, *all)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(out, incs)
	}
	w := output()
	tw := w.table(out)
	fmt.Fprintln(tw, w.IncidentsHead)
	for _, i := range incs {
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", i.ID, w.state(string(i.Status)), w.state(i.Severity.String()), i.Service, i.Level, i.AlertCount,
			w.age(time.Since(i.CreatedAt)), i.Summary)
	}
	return tw.Flush()
}

// maxPage is the API's largest page (httpapi.MaxListLimit).
const maxPage = 1000

// incidents pages through GET /api/v1/incidents newest first, each page
// starting below the last id of the one before, until want incidents (or,
// with all, every one) are read.
func (c *client) incidents(ctx context.Context, q url.Values, want int, all bool) ([]escalation.Incident, error) {
	var out []escalation.Incident
	for all || len(out) < want {
		n := maxPage
		if !all {
			n = min(maxPage, want-len(out))
		}
		q.Set("limit", strconv.Itoa(n))
		if len(out) > 0 {
			q.Set("before", strconv.FormatInt(out[len(out)-1].ID, 10))
		}
		var page []escalation.Incident
		if err := c.do(ctx, "GET", "/api/v1/incidents?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < n {
			break
		}
	}
	return out, nil
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("incident id must be a positive number, not %q", s)
	}
	return id, nil
}

func cmdShow(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("show")
	cf := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("show", "want one incident ID, got %d arguments", fs.NArg())
	}
	id, err := parseID(fs.Arg(0))
	if err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var inc escalation.Incident
	if err := c.do(ctx, "GET", fmt.Sprintf("/api/v1/incidents/%d", id), nil, &inc); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(out, inc)
	}
	w := output()
	fmt.Fprintf(out, "#%d [%s] %s: %s\n"+w.Facts+"\n", inc.ID, w.state(inc.Severity.String()), inc.Service, inc.Summary,
		w.state(string(inc.Status)), inc.Level, inc.AlertCount, inc.Source, inc.DedupKey)
	pol, _ := c.policy(ctx) // without it: the host's zone, and ids for names
	loc := policyZone(pol)
	now := time.Now()
	for _, e := range inc.Timeline {
		kind, detail := e.Kind, e.Detail
		if w.ja {
			kind, detail = w.words().Timeline(e, pol, now, loc)
		}
		fmt.Fprintf(out, "  %s  %s %s\n", clock(e.At, loc), pad(kind, 12), detail)
	}
	if len(inc.Notifications) > 0 {
		fmt.Fprintln(out, w.Notifications)
	}
	for _, n := range inc.Notifications {
		who := n.ContactID
		if who == "" {
			who = n.Number
		}
		state := string(n.Status)
		if n.Error != "" && n.Status != escalation.Sent && n.Status != escalation.Delivered {
			state += ": " + n.Error
		}
		channel := string(n.Channel)
		if w.ja {
			state, channel = w.words().Page(n), w.words().Channel(n.Channel)
		}
		fmt.Fprintf(out, "  %s  %s %s "+w.PageLevel+"  %s\n", clock(n.UpdatedAt, loc), pad(channel, 6), pad(who, 10), n.Level, state)
	}
	return nil
}

func transitionCmd(verb string) func(ctx context.Context, args []string, out io.Writer) error {
	return func(ctx context.Context, args []string, out io.Writer) error {
		fs := newFlags(verb)
		cf := addClientFlags(fs)
		by := fs.String("by", "", "who (default: the token's name)")
		if err := parseFlags(fs, args, out); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef(verb, "want one incident ID, got %d arguments", fs.NArg())
		}
		id, err := parseID(fs.Arg(0))
		if err != nil {
			return err
		}
		c, err := cf.client()
		if err != nil {
			return err
		}
		body := map[string]string{}
		if *by != "" {
			body["by"] = *by
		}
		var inc escalation.Incident
		if err := c.do(ctx, "POST", fmt.Sprintf("/api/v1/incidents/%d/%s", id, verb), body, &inc); err != nil {
			return err
		}
		w := output()
		fmt.Fprintf(out, w.Transition+"\n", inc.ID, w.state(string(inc.Status)), inc.Level)
		return nil
	}
}

func cmdOnCall(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("oncall")
	cf := addClientFlags(fs)
	at := fs.String("at", "", "RFC 3339 time (default now)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("oncall", "unexpected argument %q", fs.Arg(0))
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	path := "/api/v1/oncall"
	if *at != "" {
		path += "?at=" + url.QueryEscape(*at)
	}
	var res []escalation.OnCallAt
	if err := c.do(ctx, "GET", path, nil, &res); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(out, res)
	}
	loc := c.zone(ctx)
	w := output()
	tw := w.table(out)
	fmt.Fprintln(tw, w.OnCallHead)
	for _, o := range res {
		who := strings.Join(o.Contacts, say(", ", "、"))
		if who == "" {
			who = w.Nobody
		}
		until := "-"
		if !o.Until.IsZero() {
			until = clock(o.Until, loc)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Schedule, who, until)
	}
	return tw.Flush()
}

func cmdStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("status")
	cf := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the whole status document as JSON")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("status", "unexpected argument %q", fs.Arg(0))
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/api/v1/status", nil, &raw); err != nil {
		return err
	}
	if *asJSON {
		var buf bytes.Buffer
		json.Indent(&buf, raw, "", "  ")
		buf.WriteByte('\n')
		_, err = buf.WriteTo(out)
		return err
	}
	pol, _ := c.policy(ctx) // the summary without it lacks only names and warnings
	return printStatus(out, raw, pol)
}

func cmdPolicy(ctx context.Context, args []string, out io.Writer) error {
	sub, rest, err := groupCommand("policy", args, out)
	if err != nil {
		return err
	}
	fs := newFlags("policy " + sub)
	if sub == "check" {
		if err := parseFlags(fs, rest, out); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("policy check", "want one policy FILE, got %d arguments", fs.NArg())
		}
		return checkPolicyFile(fs.Arg(0), out)
	}
	cf := addClientFlags(fs)
	if err := parseFlags(fs, rest, out); err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	switch sub {
	case "apply":
		if fs.NArg() != 1 {
			return usagef("policy apply", "want one policy FILE, got %d arguments", fs.NArg())
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		var res struct {
			Version int64 `json:"version"`
		}
		if err := c.do(ctx, "PUT", "/api/v1/policy", data, &res); err != nil {
			return err
		}
		fmt.Fprintf(out, output().PolicyApplied+"\n", res.Version)
		return nil
	case "export":
		if fs.NArg() != 0 {
			return usagef("policy export", "takes no arguments")
		}
		var data []byte
		if err := c.do(ctx, "GET", "/api/v1/policy", nil, &data); err != nil {
			return err
		}
		_, err := out.Write(data)
		return err
	}
	return fmt.Errorf("unknown policy command %q: want apply, export or check", sub)
}

func cmdGPIO(ctx context.Context, args []string, out io.Writer) error {
	sub, rest, err := groupCommand("gpio", args, out)
	if err != nil {
		return err
	}
	switch sub {
	case "press":
		fs := newFlags("gpio press")
		cf := addClientFlags(fs)
		long := fs.Bool("long", false, "hold for 3 s (a long ack press resolves)")
		if err := parseFlags(fs, rest, out); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usagef("gpio press", "want one INPUT, got %d arguments", fs.NArg())
		}
		c, err := cf.client()
		if err != nil {
			return err
		}
		path := "/api/v1/gpio/inputs/" + url.PathEscape(fs.Arg(0)) + "/press"
		if *long {
			path += "?long=1"
		}
		if err := c.do(ctx, "POST", path, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, output().Pressed+"\n", fs.Arg(0))
		return nil
	case "test":
		return cmdGPIOTest(ctx, rest, out)
	}
	return fmt.Errorf("unknown gpio command %q", sub)
}

func cmdSim(ctx context.Context, args []string, out io.Writer) error {
	sub, rest, err := groupCommand("sim", args, out)
	if err != nil {
		return err
	}
	fs := newFlags("sim " + sub)
	cf := addClientFlags(fs)
	if err := parseFlags(fs, rest, out); err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	switch sub {
	case "sms":
		if fs.NArg() < 2 {
			return usagef("sim sms", "want FROM and TEXT")
		}
		text := strings.Join(fs.Args()[1:], " ")
		if err := c.do(ctx, "POST", "/api/v1/sim/phones/"+url.PathEscape(fs.Arg(0))+"/sms", map[string]string{"text": text}, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, output().SimSent+"\n", fs.Arg(0), text)
		return nil
	case "phones":
		var msgs []struct {
			Number, Direction, Text string
			At                      time.Time
		}
		if err := c.do(ctx, "GET", "/api/v1/sim/phones", nil, &msgs); err != nil {
			return err
		}
		loc := c.zone(ctx)
		for _, m := range msgs {
			arrow := "→"
			if m.Direction == "from-phone" {
				arrow = "←"
			}
			fmt.Fprintf(out, "%s %s %s\n    %s\n", m.At.In(loc).Format("15:04:05 MST"), arrow, m.Number, strings.ReplaceAll(m.Text, "\n", "\n    "))
		}
		return nil
	}
	return fmt.Errorf("unknown sim command %q", sub)
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
