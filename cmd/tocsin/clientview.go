package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/cluster"
	"github.com/tocsin-relay/tocsin/escalation/status"
)

// How the CLI shows the daemon to a person: times in one zone with its
// label (the policy's settings.time_zone, else the host's), and `tocsin
// status` as a short summary.

// policy fetches the policy in force as JSON (GET /api/v1/policy with
// Accept: application/json; without it the daemon answers YAML).
func (c *client) policy(ctx context.Context) (*escalation.Policy, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/policy", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the daemon at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/policy: HTTP %d", resp.StatusCode)
	}
	var p escalation.Policy
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// zone is where the CLI shows times: the policy's settings.time_zone,
// else the host's zone. A daemon that cannot say leaves the host's.
func (c *client) zone(ctx context.Context) *time.Location {
	if p, err := c.policy(ctx); err == nil {
		return policyZone(p)
	}
	return time.Local
}

func policyZone(p *escalation.Policy) *time.Location {
	if p != nil && p.Settings.TimeZone != "" {
		if loc, err := escalation.LoadZone(p.Settings.TimeZone); err == nil {
			return loc
		}
	}
	return time.Local
}

// clock writes t in loc with the zone's label: "2026-12-05 15:04:05 JST".
func clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// statusView is the part of /api/v1/status the summary reads.
type statusView struct {
	Version  string `json:"version"`
	Uptime   string `json:"uptime"`
	Demo     bool   `json:"demo"`
	Database struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"database"`
	Engine struct {
		Open int `json:"open_incidents"`
	} `json:"engine"`
	Modem  status.Mod `json:"modem"`
	Outbox struct {
		Depth     int    `json:"depth"`
		Sent      int64  `json:"sent"`
		Failed    int64  `json:"failed"`
		LastError string `json:"last_error"`
	} `json:"outbox"`
	Policy *struct {
		Version   int64     `json:"version"`
		AppliedAt time.Time `json:"applied_at"`
		AppliedBy string    `json:"applied_by"`
	} `json:"policy"`
	MQTT *struct {
		Broker    string `json:"broker"`
		Connected bool   `json:"connected"`
		LastError string `json:"last_error"`
	} `json:"mqtt"`
	// Warnings, when the daemon gives them (such as "not configured: no
	// contact can be paged").
	Warnings []string `json:"warnings"`
	// Configured is false while the policy can page nobody, and Reason
	// says why (escalation.Readiness); nil from a daemon that predates it.
	Configured *bool           `json:"configured"`
	Reason     string          `json:"not_configured_reason"`
	Cluster    *cluster.Status `json:"cluster"` // twin relays (cluster.go)
}

// printStatus writes the short summary of `tocsin status`.
func printStatus(out io.Writer, raw []byte, pol *escalation.Policy) error {
	var s statusView
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("status document: %w", err)
	}
	loc := policyZone(pol)
	demo := ""
	if s.Demo {
		demo = " (demo: everything simulated)"
	}
	fmt.Fprintf(out, "tocsin %s, up %s%s\n", s.Version, s.Uptime, demo)
	m := s.Modem
	switch {
	case m.Up:
		signal := "signal unknown"
		if m.SignalKnown {
			signal = fmt.Sprintf("%d dBm", m.SignalDBM)
		}
		up := ""
		if t, err := time.Parse(time.RFC3339, m.Since); err == nil {
			up = ", up since " + clock(t, loc)
		}
		fmt.Fprintf(out, "modem:      up: %s, %s, %s, registration %s%s\n", orDash(m.Model), orDash(m.Operator), signal, orDash(m.Registration), up)
		switch m.Reports {
		case "":
		case "none":
			fmt.Fprintln(out, "            delivery reports: none (the module takes no AT+CNMI form for them; \"sent\" is as far as Tocsin sees)")
		default:
			fmt.Fprintf(out, "            delivery reports: %s\n", m.Reports)
		}
	default:
		why := m.LastError
		if why == "" {
			why = "not initialised yet"
		}
		fmt.Fprintf(out, "modem:      DOWN (%s): %s\n", m.Device, why)
		if m.HealthAlarm {
			fmt.Fprintf(out, "            an incident on the %q service is open about it\n", escalation.SelfService)
		}
	}
	fmt.Fprintf(out, "outbox:     %d waiting, %d sent, %d failed", s.Outbox.Depth, s.Outbox.Sent, s.Outbox.Failed)
	if s.Outbox.LastError != "" {
		fmt.Fprintf(out, " (last error: %s)", s.Outbox.LastError)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "incidents:  %d open\n", s.Engine.Open)
	switch {
	case s.Policy == nil || s.Policy.Version == 0:
		fmt.Fprintln(out, "policy:     none applied")
	default:
		fmt.Fprintf(out, "policy:     version %d, applied %s by %s", s.Policy.Version, clock(s.Policy.AppliedAt, loc), orDash(s.Policy.AppliedBy))
		if pol != nil {
			fmt.Fprintf(out, ": %d contacts, %d services", len(pol.Contacts), len(pol.Services))
		}
		fmt.Fprintln(out)
	}
	if s.MQTT != nil {
		state := "connected"
		if !s.MQTT.Connected {
			state = "DISCONNECTED"
			if s.MQTT.LastError != "" {
				state += ": " + s.MQTT.LastError
			}
		}
		fmt.Fprintf(out, "mqtt:       %s (%s)\n", state, s.MQTT.Broker)
	}
	if !s.Database.OK {
		fmt.Fprintf(out, "database:   FAILING: %s\n", s.Database.Error)
	}
	if s.Cluster != nil {
		printPair(out, *s.Cluster)
	}
	var warns []string
	warns = append(warns, s.Warnings...)
	if s.Configured != nil && !*s.Configured {
		warns = append(warns, s.Reason)
	}
	switch {
	case pol == nil:
	case len(pol.Contacts) == 0:
		if s.Configured != nil {
			break // the daemon said it, with the reason
		}
		warns = append(warns, "not configured: no contact can be paged (the policy has no contacts)")
	default:
		for _, w := range pol.Warnings() {
			warns = append(warns, w.Msg)
		}
	}
	for _, w := range warns {
		fmt.Fprintf(out, "warning:    %s\n", w)
	}
	fmt.Fprintf(out, "times in %s\n", zoneLabel(loc))
	return nil
}

// zoneLabel names a zone for people: "Asia/Tokyo (JST)".
func zoneLabel(loc *time.Location) string {
	abbr, _ := time.Now().In(loc).Zone()
	name := loc.String()
	if name == "Local" {
		name = hostZone()
	}
	if strings.EqualFold(name, abbr) {
		return name
	}
	return fmt.Sprintf("%s (%s)", name, abbr)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
