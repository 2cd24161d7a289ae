package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/escalation"
)

// UplinkConfig is the optional uplink check: a URL (HTTP GET must answer
// 2xx or 3xx) or a host:port (a TCP connection must open) probed every
// interval; tries failures in a row page "internet/monitoring unreachable"
// on service, and recovery resolves it.
//
//	uplink: {url: "https://monitoring.lan/-/healthy", interval: 1m, tries: 3, service: tocsin}
type UplinkConfig struct {
	URL      string   `yaml:"url"`
	Host     string   `yaml:"host"`
	Interval duration `yaml:"interval"`
	Tries    int      `yaml:"tries"`
	Timeout  duration `yaml:"timeout"`
	Service  string   `yaml:"service"`
}

// validateUplink checks the uplink section and fills its defaults.
func (c *Config) validateUplink(root *yaml.Node) configErrors {
	u := c.Uplink
	if u == nil {
		return nil
	}
	var errs configErrors
	bad := func(msg string, path ...string) {
		errs = append(errs, configError{File: c.file, Line: nodeLine(root, append([]string{"uplink"}, path...)...), Msg: msg})
	}
	switch {
	case (u.URL == "") == (u.Host == ""):
		bad("uplink: give exactly one of url (an HTTP check) and host (host:port, a TCP check)")
	case u.URL != "":
		if p, err := url.Parse(u.URL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(fmt.Sprintf("uplink.url %q: want an http:// or https:// URL", u.URL), "url")
		}
	default:
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" || checkAddress(u.Host) != nil {
			bad(fmt.Sprintf("uplink.host %q: want host:port, such as 8.8.8.8:53 or router.lan:80", u.Host), "host")
		}
	}
	if u.Service == "" {
		bad("uplink.service is required: the policy service whose people are paged", "service")
	}
	if u.Interval == 0 {
		u.Interval = duration(time.Minute)
	}
	if time.Duration(u.Interval) < 100*time.Millisecond {
		bad(fmt.Sprintf("uplink.interval %s: too short", time.Duration(u.Interval)), "interval")
	}
	if u.Tries == 0 {
		u.Tries = 3
	}
	if u.Tries < 0 {
		bad("uplink.tries must be positive", "tries")
	}
	return errs
}

// target names what is probed, for summaries and logs.
func (u *UplinkConfig) target() string {
	if u.URL != "" {
		return u.URL
	}
	return u.Host
}

// probe returns the check the config describes.
func (u *UplinkConfig) probe() escalation.ProbeFunc {
	if u.URL != "" {
		return httpProbe(u.URL, &http.Client{})
	}
	return tcpProbe(u.Host)
}

// httpProbe is up when GET target answers 2xx or 3xx.
func httpProbe(target string, client *http.Client) escalation.ProbeFunc {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "tocsin-uplink-check/"+version)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP %s", resp.Status)
		}
		return nil
	}
}

// tcpProbe is up when a TCP connection to addr opens.
func tcpProbe(addr string) escalation.ProbeFunc {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// startUplink runs the uplink check, if configured, under run.
func (d *daemon) startUplink(run func(name string, fn func(ctx context.Context))) {
	u := d.cfg.Uplink
	if u == nil {
		return
	}
	check := &escalation.UplinkCheck{
		Target: u.target(), Service: u.Service, Interval: time.Duration(u.Interval), Tries: u.Tries,
		Timeout: time.Duration(u.Timeout), Probe: u.probe(), Ingest: d.engine, Lister: d.engine,
		Log: d.log.With("part", "uplink"),
	}
	run("uplink", func(ctx context.Context) {
		if err := check.Run(ctx); err != nil {
			d.log.Error("uplink check stopped", "err", err)
		}
	})
}
