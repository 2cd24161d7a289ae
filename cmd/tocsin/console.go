package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/console"
	"github.com/tocsin-relay/tocsin/escalation/httpapi"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
	"github.com/tocsin-relay/tocsin/modem/modemsim"
)

// mountConsole serves the web console at "/" of srv. Its logins are the
// config's http.users and http.tokens; its live streams end with ctx so
// that the HTTP server's shutdown does not wait for them.
func (d *daemon) mountConsole(ctx context.Context, srv *httpapi.Server, tokens []TokenConfig) error {
	o := console.Options{
		Engine: d.engine,
		Log:    d.log.With("part", "console"),
		Status: func(ctx context.Context) any { return d.status(ctx) },
		PolicyExport: func(ctx context.Context) ([]byte, error) {
			return policyfile.Marshal(d.engine.Policy())
		},
		Pages: func(ctx context.Context, id int64) ([]escalation.Notification, error) {
			return d.db.Outbox(ctx, sqlite.OutboxFilter{IncidentID: id, Limit: 200})
		},
	}
	for _, u := range d.cfg.HTTP.Users {
		pw := u.Password
		if u.PasswordFile != "" {
			var err error
			if pw, err = readSecret(u.PasswordFile); err != nil {
				return fmt.Errorf("http.users %q: %w", u.Name, err)
			}
			if pw == "" {
				return fmt.Errorf("http.users %q: %s is empty", u.Name, u.PasswordFile)
			}
		}
		o.Users = append(o.Users, console.Login{Name: u.Name, Secret: pw, ReadOnly: u.ReadOnly})
	}
	for _, t := range tokens {
		o.Tokens = append(o.Tokens, console.Login{Name: t.Name, Secret: t.Token, ReadOnly: t.ReadOnly})
	}
	if d.modem.sim != nil {
		o.Phones = simPhones{d.modem.sim}
	}
	c, err := console.New(o)
	if err != nil {
		return err
	}
	context.AfterFunc(ctx, c.Close)
	srv.Handle("/", c)
	return nil
}

// simPhones shows the modem simulator's phones in the console; a reply
// from the page is injected into the simulated modem, so it reaches the
// daemon over the serial line exactly as a real reply would.
type simPhones struct{ sim *modemsim.Sim }

// Messages are the SMS and the finished calls of every simulated phone,
// oldest first.
func (p simPhones) Messages() []console.PhoneMessage {
	msgs := p.sim.Messages()
	out := make([]console.PhoneMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, console.PhoneMessage{Number: m.Number, ToPhone: m.Direction == "to-phone", Text: m.Text, At: m.At})
	}
	for _, c := range p.sim.Calls() {
		text := c.Outcome
		if c.Keys != "" {
			text += ", keys " + c.Keys
		}
		if len(c.Spoken) > 0 {
			text += ": " + strings.Join(c.Spoken, " ")
		}
		out = append(out, console.PhoneMessage{Number: c.Number, ToPhone: !c.Incoming, Text: text, At: c.Start, Call: true})
	}
	slices.SortStableFunc(out, func(a, b console.PhoneMessage) int { return a.At.Compare(b.At) })
	return out
}

func (p simPhones) Send(ctx context.Context, from, text string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.sim.InjectSMS(from, text)
}

// ActiveCall is the call the simulator is carrying, if any.
func (p simPhones) ActiveCall() (console.ActiveCall, bool) {
	c, ok := p.sim.ActiveCall()
	if !ok {
		return console.ActiveCall{}, false
	}
	return console.ActiveCall{Number: c.Number, Incoming: c.Incoming, Ringing: c.Rang && !c.Answered,
		Answered: c.Answered, Keys: c.Keys, Since: c.Start}, true
}

// CallAction is the callee picking up, pressing a key or hanging up; the
// modem sees it as it would from a real phone (answer, DTMF, NO CARRIER).
func (p simPhones) CallAction(ctx context.Context, action string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch action {
	case "answer":
		return p.sim.AnswerCall()
	case "hangup":
		return p.sim.HangUpCall()
	}
	if len(action) != 1 {
		return fmt.Errorf("call action %q: want answer, hangup or one key", action)
	}
	return p.sim.PressKey(action[0])
}
