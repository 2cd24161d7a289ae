// Package email pages people by e-mail through the site's SMTP server
// (github.com/wneessen/go-mail): STARTTLS or implicit TLS, AUTH PLAIN or
// LOGIN, or a trusted relay without either.
//
// Every message about one incident to one person lands in one thread: the
// first carries a Message-ID made from the incident, and every later one
// names it in In-Reply-To and References. Subject and body are UTF-8 in
// the contact's language and carry the acknowledge and resolve links.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Config is the SMTP server and the sender address.
type Config struct {
	Addr     string // host:port
	StartTLS bool   // require STARTTLS (port 587)
	TLS      bool   // implicit TLS (port 465)
	From     string // "Tocsin <tocsin@factory.lan>"
	Username string // empty: no AUTH (a trusted relay)
	Password string
	// Auth is "plain" (default) or "login".
	Auth string
	// CAFile, if set, holds the PEM certificates that sign the server's
	// (a site CA, or the server's own self-signed certificate); otherwise
	// the system's roots.
	CAFile  string
	Timeout time.Duration // per connection; default 30s
}

// Sender sends e-mail pages. It connects for each message: pages are rare,
// and a connection held open would only break silently.
type Sender struct {
	cfg    Config
	host   string
	port   int
	domain string // right-hand side of Message-IDs
	tls    *tls.Config
}

// New checks cfg and returns a sender.
func New(cfg Config) (*Sender, error) {
	host, portS, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("email.smtp %q: want host:port", cfg.Addr)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return nil, fmt.Errorf("email.smtp %q: bad port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email.from %q: %w", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("email.ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
	}
	return &Sender{cfg: cfg, host: host, port: port, domain: domain, tls: tc}, nil
}

// ThreadID is the Message-ID of the first e-mail about incident to
// recipient (without angle brackets); later ones refer to it.
func (s *Sender) ThreadID(m escalation.Message) string {
	return fmt.Sprintf("tocsin.incident-%d.%d.%s@%s", m.Incident.ID, m.Incident.CreatedAt.UnixMilli(),
		strings.NewReplacer("@", ".", "<", "", ">", "").Replace(m.Number), s.domain)
}

// Build returns the e-mail for m.
func (s *Sender) Build(m escalation.Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.Number); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(escalation.MessageTitle(m))
	msg.SetDate()
	root := s.ThreadID(m)
	if m.FirstInThread {
		msg.SetMessageIDWithValue(root)
	} else {
		msg.SetMessageIDWithValue(fmt.Sprintf("tocsin.incident-%d.n%d@%s", m.Incident.ID, m.ID, s.domain))
		msg.SetGenHeader(gomail.HeaderInReplyTo, "<"+root+">")
		msg.SetGenHeader(gomail.HeaderReferences, "<"+root+">")
	}
	lang := "en"
	if strings.HasPrefix(m.Language, "ja") {
		lang = "ja"
	}
	msg.SetGenHeader(gomail.HeaderContentLang, lang)
	// Keep out-of-office replies away from a robot's address.
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, escalation.MessageBody(m))
	return msg, nil
}

// Send delivers m through the SMTP server.
func (s *Sender) Send(ctx context.Context, m escalation.Message) error {
	msg, err := s.Build(m)
	if err != nil {
		return &escalation.DeliveryError{Verdict: escalation.GiveUp, Err: err}
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.cfg.Timeout), gomail.WithHELO(s.domain)}
	switch {
	case s.cfg.TLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSConfig(s.tls))
	case s.cfg.StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(s.tls))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		if strings.EqualFold(s.cfg.Auth, "login") {
			auth = gomail.SMTPAuthLogin
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return &escalation.DeliveryError{Verdict: escalation.GiveUp, Err: err}
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return &escalation.DeliveryError{Verdict: Classify(err), Err: fmt.Errorf("smtp %s: %w", s.cfg.Addr, err)}
	}
	return nil
}

// Classify says what an SMTP failure means for the page: the server could
// not be reached (refused, unreachable, TLS handshake) → Wait; a 4xx reply
// → Retry; a 5xx reply (recipient refused, authentication failed) →
// GiveUp; a connection that broke mid-way → Retry.
func Classify(err error) escalation.Verdict {
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch code := se.ErrorCode(); {
		case code >= 500:
			return escalation.GiveUp
		case code >= 400, se.IsTemp():
			return escalation.Retry
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code >= 500 {
			return escalation.GiveUp
		}
		return escalation.Retry
	}
	if v, ok := escalation.NetVerdict(err); ok {
		return v
	}
	if errors.Is(err, gomail.ErrPlainAuthNotSupported) || errors.Is(err, gomail.ErrLoginAuthNotSupported) {
		return escalation.GiveUp
	}
	return escalation.Retry
}
