package escalation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Acknowledge links. E-mail, push and chat messages carry per-page links
// {public_url}/a/{token}. The token is the only credential: 192 random
// bits, good for one action (acknowledge or resolve) on one incident for
// one recipient, until it expires or is used once. The store keeps only
// its SHA-256, so a copy of the database does not hold working links.
// Opening a link (GET) changes nothing — mail scanners fetch links — and
// only a POST acts.

// AckLink is a stored link, found by the hash of its token.
type AckLink struct {
	Hash       string // hex SHA-256 of the token
	IncidentID int64
	Recipient  string // the contact id, or the webhook id for a chat
	Action     Action // Acknowledge or Resolve
	Channel    Channel
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time // zero until used
}

// AckLinkStore keeps acknowledge links.
type AckLinkStore interface {
	SaveAckLinks(ctx context.Context, links ...AckLink) error
	// AckLink returns the link with hash, NotFound if there is none.
	AckLink(ctx context.Context, hash string) (AckLink, error)
	// UseAckLink marks the link used if it is unused and unexpired at now,
	// and reports whether it did: exactly one caller wins a race.
	UseAckLink(ctx context.Context, hash string, now time.Time) (bool, error)
}

// Transitioner acknowledges and resolves incidents; the Engine is one.
type Transitioner interface {
	Transition(ctx context.Context, id int64, to Status, by, via string) (Incident, error)
	Incident(ctx context.Context, id int64) (Incident, error)
}

// DefaultLinkTTL is how long an acknowledge link works.
const DefaultLinkTTL = 24 * time.Hour

// AckLinks issues and redeems acknowledge links.
type AckLinks struct {
	store AckLinkStore
	tr    Transitioner
	ttl   time.Duration
}

// NewAckLinks returns the link service; ttl <= 0 means DefaultLinkTTL.
func NewAckLinks(store AckLinkStore, tr Transitioner, ttl time.Duration) *AckLinks {
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	return &AckLinks{store: store, tr: tr, ttl: ttl}
}

// HashToken is how a token is stored and looked up.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Links issues an acknowledge and a resolve link for one page: incident,
// recipient (contact or webhook id), channel. base is settings.public_url.
func (a *AckLinks) Links(ctx context.Context, base string, incident int64, recipient string, ch Channel, now time.Time) (ack, resolve string, err error) {
	base = strings.TrimRight(base, "/")
	var links []AckLink
	var urls [2]string
	for i, act := range []Action{Acknowledge, Resolve} {
		tok, err := newToken()
		if err != nil {
			return "", "", fmt.Errorf("ack link: %w", err)
		}
		links = append(links, AckLink{Hash: HashToken(tok), IncidentID: incident, Recipient: recipient,
			Action: act, Channel: ch, CreatedAt: now, ExpiresAt: now.Add(a.ttl)})
		urls[i] = base + "/a/" + tok
	}
	if err := a.store.SaveAckLinks(ctx, links...); err != nil {
		return "", "", err
	}
	return urls[0], urls[1], nil
}

// LinkView is what the confirmation page shows.
type LinkView struct {
	Link     AckLink
	Incident Incident
	// Done is true after Use acted (or found the incident already in the
	// state the link asks for).
	Done bool
}

// Look returns the link behind token without changing anything: NotFound
// for a token that was never issued, Gone for one used or expired.
func (a *AckLinks) Look(ctx context.Context, token string, now time.Time) (LinkView, error) {
	l, err := a.store.AckLink(ctx, HashToken(token))
	if err != nil {
		return LinkView{}, err
	}
	v := LinkView{Link: l}
	if v.Incident, err = a.tr.Incident(ctx, l.IncidentID); err != nil {
		return LinkView{}, err
	}
	v.Incident.Timeline = nil
	switch {
	case !l.UsedAt.IsZero():
		return v, &Error{Kind: Gone, Msg: "this link was already used"}
	case !now.Before(l.ExpiresAt):
		return v, &Error{Kind: Gone, Msg: "this link has expired"}
	}
	return v, nil
}

// Use redeems token: it acknowledges or resolves the incident on behalf of
// the link's recipient, via its channel ("acknowledged by tanaka via
// email"), once. Errors as Look; an incident already resolved is a
// Conflict.
func (a *AckLinks) Use(ctx context.Context, token string, now time.Time) (LinkView, error) {
	v, err := a.Look(ctx, token, now)
	if err != nil {
		return v, err
	}
	won, err := a.store.UseAckLink(ctx, v.Link.Hash, now)
	if err != nil {
		return v, err
	}
	if !won {
		return v, &Error{Kind: Gone, Msg: "this link was already used"}
	}
	to := Acknowledged
	if v.Link.Action == Resolve {
		to = Resolved
	}
	inc, err := a.tr.Transition(ctx, v.Link.IncidentID, to, v.Link.Recipient, linkVia(v.Link.Channel))
	if err != nil {
		return v, err
	}
	inc.Timeline = nil
	v.Incident, v.Done = inc, true
	return v, nil
}

// linkVia names the channel in the timeline: "acknowledged by tanaka via
// email".
func linkVia(ch Channel) string {
	if ch == WebhookChannel {
		return "chat"
	}
	return string(ch)
}
