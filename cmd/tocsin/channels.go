package main

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/email"
	"github.com/tocsin-relay/tocsin/escalation/ntfy"
	"github.com/tocsin-relay/tocsin/escalation/webhook"
)

// E-mail, push and webhooks: the config sections, and the wiring of one
// delivery worker per channel beside the modem's. Each worker has its own
// goroutine and its own outbox rows, so a mail server or chat server that
// is down delays only its own pages, never an SMS or a call.

// EmailConfig is the site's SMTP server (config `email:`).
type EmailConfig struct {
	SMTP         string `yaml:"smtp"`     // host:port
	StartTLS     bool   `yaml:"starttls"` // require STARTTLS (587)
	TLS          bool   `yaml:"tls"`      // implicit TLS (465)
	From         string `yaml:"from"`     // "Tocsin <tocsin@factory.lan>"
	Username     string `yaml:"username"` // empty: no AUTH (a trusted relay)
	PasswordFile string `yaml:"password_file"`
	Auth         string `yaml:"auth"` // plain (default) or login
	CAFile       string `yaml:"ca_file"`
}

// PushConfig is the ntfy server (config `push:`).
type PushConfig struct {
	NtfyURL   string `yaml:"ntfy_url"`
	TokenFile string `yaml:"token_file"`
}

func (c *Config) validateChannels(root *yaml.Node) configErrors {
	var errs configErrors
	bad := func(msg string, path ...string) {
		errs = append(errs, configError{File: c.file, Line: nodeLine(root, path...), Msg: msg})
	}
	if e := c.Email; e != nil {
		if _, port, err := net.SplitHostPort(e.SMTP); err != nil || port == "" {
			bad(fmt.Sprintf("email.smtp %q: want host:port, such as mail.factory.lan:587", e.SMTP), "email", "smtp")
		}
		if e.StartTLS && e.TLS {
			bad("email: starttls and tls exclude each other (starttls for port 587, tls for 465)", "email", "tls")
		}
		if a, err := mail.ParseAddress(e.From); err != nil || a.Address == "" {
			bad(fmt.Sprintf("email.from %q: want an address such as \"Tocsin <tocsin@factory.lan>\"", e.From), "email", "from")
		}
		if (e.Username == "") != (e.PasswordFile == "") {
			bad("email: give username and password_file together, or neither for a trusted relay", "email", "username")
		}
		switch e.Auth {
		case "", "plain", "login":
		default:
			bad(fmt.Sprintf("email.auth %q: want plain or login", e.Auth), "email", "auth")
		}
	}
	if p := c.Push; p != nil {
		if u, err := url.Parse(p.NtfyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(fmt.Sprintf("push.ntfy_url %q: want the ntfy server's http:// or https:// URL", p.NtfyURL), "push", "ntfy_url")
		}
	}
	return errs
}

// channelSet is the running e-mail, push and webhook delivery.
type channelSet struct {
	workers []*escalation.ChannelWorker
	links   *escalation.AckLinks
}

// notConfigured stands in for a channel without its config section: its
// pages wait (visible on /api/v1/status) instead of vanishing.
func notConfigured(section string) escalation.Sender {
	return escalation.SenderFunc(func(context.Context, escalation.Message) error {
		return &escalation.DeliveryError{Verdict: escalation.Wait,
			Err: fmt.Errorf("not configured: add an %s section to the config", section)}
	})
}

// startChannels starts the e-mail, push and webhook workers and the
// stakeholder fan-out under run.
func (d *daemon) startChannels(ctx context.Context, run func(name string, fn func(ctx context.Context))) error {
	d.chans.links = escalation.NewAckLinks(d.db, d.engine, 0)
	mailer := notConfigured("email:")
	if e := d.cfg.Email; e != nil {
		pw, err := readSecret(e.PasswordFile)
		if err != nil {
			return fmt.Errorf("email.password_file: %w", err)
		}
		s, err := email.New(email.Config{Addr: e.SMTP, StartTLS: e.StartTLS, TLS: e.TLS, From: e.From,
			Username: e.Username, Password: pw, Auth: e.Auth, CAFile: e.CAFile})
		if err != nil {
			return err
		}
		mailer = s
	}
	pusher := notConfigured("push:")
	if p := d.cfg.Push; p != nil {
		tok, err := readSecret(p.TokenFile)
		if err != nil {
			return fmt.Errorf("push.token_file: %w", err)
		}
		pusher = ntfy.New(ntfy.Config{URL: p.NtfyURL, Token: tok})
	}
	senders := []struct {
		ch escalation.Channel
		s  escalation.Sender
	}{{escalation.Email, mailer}, {escalation.Push, pusher}, {escalation.WebhookChannel, webhook.New(nil)}}
	for _, x := range senders {
		w := escalation.NewChannelWorker(x.ch, x.s, d.db, d.engine, d.chans.links, d.log.With("part", string(x.ch)))
		d.chans.workers = append(d.chans.workers, w)
		d.engine.OnOutbox(w.Wake)
		run(string(x.ch), func(ctx context.Context) {
			if err := w.Run(ctx); err != nil {
				d.log.Error("delivery worker stopped", "channel", x.ch, "err", err)
			}
		})
	}
	st := escalation.NewStakeholders(d.engine.Notify, d.engine.Policy, d.db, time.Now())
	cancel := d.engine.Subscribe(func(inc escalation.Incident) {
		if err := st.Changed(ctx, inc); err != nil && ctx.Err() == nil {
			d.log.Error("queue stakeholder update", "incident", inc.ID, "err", err)
		}
	})
	context.AfterFunc(ctx, cancel)
	return nil
}

// channelStatus is the channels' part of /api/v1/status.
func (d *daemon) channelStatus(ctx context.Context) []escalation.ChannelHealth {
	out := make([]escalation.ChannelHealth, 0, len(d.chans.workers))
	for _, w := range d.chans.workers {
		h := w.Health()
		h.Queued, _ = d.db.ChannelDepth(ctx, h.Channel)
		out = append(out, h)
	}
	return out
}
