package main

import (
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/httpapi"
	"github.com/tocsin-relay/tocsin/escalation/mqttapi"
	"github.com/tocsin-relay/tocsin/escalation/panel"
	"github.com/tocsin-relay/tocsin/escalation/phone"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

//go:embed demo/tocsin.yaml
var demoConfig []byte

//go:embed demo/policy.yaml
var demoPolicy []byte

// daemon holds the running parts; serve wires them and only serve starts
// or stops them.
type daemon struct {
	cfg     *Config
	log     *slog.Logger
	db      *sqlite.DB
	engine  *escalation.Engine
	phone   *phone.Phone
	link    *modemLink
	gpio    *device.Manager // nil with gpio.backend: none
	mqtt    *mqttapi.Client // nil without an mqtt section
	panel   *panel.Panel
	started time.Time
	obs     observability // metrics, heartbeats, uplink check (observe.go)

	policyMu sync.Mutex // serialises policy applies (file reload, API)
}

func cmdServe(ctx context.Context, args []string, reload <-chan struct{}) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	file := fs.String("c", "", "config file (default: the demo, everything simulated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		cfg *Config
		err error
	)
	if *file == "" {
		cfg, err = parseConfig("demo/tocsin.yaml", demoConfig)
		if err != nil {
			return err
		}
		cfg.demo = true
		if v := os.Getenv("TOCSIN_DEMO_LISTEN"); v != "" {
			cfg.HTTP.Listen = v
		}
		if v := os.Getenv("TOCSIN_DEMO_STATE_DIR"); v != "" {
			cfg.StateDir = v
		}
	} else if cfg, err = loadConfig(*file); err != nil {
		return err
	}
	log := newLogger(cfg.Log, os.Stderr)
	return serve(ctx, cfg, log, reload)
}

// newLogger returns a structured logger. Under systemd (JOURNAL_STREAM set)
// it leaves out timestamps, which journald adds itself.
func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch c.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, cfg *Config, log *slog.Logger, reload <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &daemon{cfg: cfg, log: log, started: time.Now()}

	db, err := sqlite.Open(ctx, filepath.Join(cfg.StateDir, "tocsin.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	d.db = db

	pol, err := d.initialPolicy(ctx)
	if err != nil {
		return err
	}
	d.engine = escalation.NewEngine(db, pol, log.With("part", "engine"))

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	fatal := make(chan error, 4) // a part that cannot run at all stops the daemon
	run := func(name string, fn func(ctx context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
		}()
	}

	// Modem and SMS delivery.
	pin, err := readSecret(cfg.Modem.PinFile)
	if err != nil {
		return fmt.Errorf("modem.pin_file: %w", err)
	}
	d.link = &modemLink{cfg: cfg.Modem, log: log.With("part", "modem"), pin: pin, ingest: d.engine.Ingest}
	d.phone = phone.New(d.link, db, db, d.engine, phone.Options{PerMinute: cfg.Modem.SMSPerMinute,
		RingTimeout: time.Duration(cfg.Modem.RingTimeout), Reports: db, Log: log.With("part", "phone")})
	d.link.onSMS = d.phone.HandleSMS
	d.link.onReport = d.phone.HandleReport
	d.link.onCall = d.phone.HandleIncomingCall
	if pk := cfg.Modem.PowerKey; pk != nil {
		// The last rung of the recovery ladder: pulse the HAT's power key.
		backendName := cfg.GPIO.Backend
		if backendName == "none" {
			backendName = device.BackendPeriph
		}
		b, err := device.OpenBackend(backendName)
		if err != nil {
			return fmt.Errorf("modem.power_key: %w", err)
		}
		key, err := device.OpenPowerKey(b, *pk)
		if err != nil {
			return fmt.Errorf("modem.power_key: %w", err)
		}
		defer key.Close()
		d.link.powerKey = func(ctx context.Context) error { return key.PulsePowerKey(ctx, 0) }
	}
	if err := d.link.start(ctx); err != nil {
		return err
	}
	d.engine.OnOutbox(d.phone.Wake)
	run("modem", d.link.run)
	run("phone", func(ctx context.Context) {
		if err := d.phone.Run(ctx); err != nil {
			log.Error("delivery worker stopped", "err", err)
		}
	})
	run("engine", func(ctx context.Context) {
		if err := d.engine.Run(ctx); err != nil {
			log.Error("engine stopped", "err", err)
		}
	})
	d.startObservability(run)

	// MQTT: intake, incident states, ack topics.
	if cfg.MQTT != nil {
		mc, err := cfg.MQTT.adapterConfig()
		if err != nil {
			return err
		}
		d.mqtt = mqttapi.New(mc, d.engine, log.With("part", "mqtt"))
		d.mqtt.OnHeartbeat(d.heartbeat) // mqtt.heartbeats topics beat policy heartbeats
		cancelSub := d.engine.Subscribe(d.mqtt.Publish)
		defer cancelSub()
		run("mqtt", func(ctx context.Context) {
			if err := d.mqtt.Run(ctx); err != nil {
				fatal <- fmt.Errorf("mqtt: %w", err)
			}
		})
	}

	// Sirens, lights and buttons. The manager leaves every output off
	// when it opens and when it closes, SIGTERM included: serve returns
	// through this defer.
	if cfg.GPIO.Backend != "none" {
		backend, err := device.OpenBackend(cfg.GPIO.Backend)
		if err != nil {
			return err
		}
		mgr, err := device.Open(backend, cfg.GPIO, device.Options{Logger: log.With("part", "gpio")})
		if err != nil {
			return fmt.Errorf("gpio: %w", err)
		}
		defer mgr.Close()
		d.gpio = mgr
		d.panel = panel.New(d.engine, mgr, log.With("part", "panel"))
		cancelSub := d.engine.Subscribe(func(escalation.Incident) { d.panel.Changed() })
		defer cancelSub()
		run("panel", func(ctx context.Context) {
			if err := d.panel.Run(ctx); err != nil {
				log.Error("panel stopped", "err", err)
			}
		})
		run("health-light", d.healthLight)
	}

	// HTTP.
	tokens, err := cfg.tokens()
	if err != nil {
		return err
	}
	srv := d.httpServer(tokens)
	if err := d.mountConsole(ctx, srv, tokens); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if t := cfg.HTTP.TLS; t != nil {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return fmt.Errorf("http.tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	run("http", func(ctx context.Context) {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	})
	log.Info("tocsin running", "version", version, "listen", ln.Addr().String(), "state", db.Path(),
		"policy_version", pol.Version, "demo", cfg.demo)
	if cfg.demo {
		log.Info("demo: console http://" + ln.Addr().String() + "/ (user demo, password demo); API token \"demo\"")
	}
	if cfg.PolicyFile != "" {
		run("policy-watch", d.watchPolicyFile)
	}
	sdNotifyReady(log)
	run("watchdog", func(ctx context.Context) { sdWatchdog(ctx, d.engine.LastTick, log) })

	for {
		select {
		case err := <-fatal:
			log.Error("stopping", "err", err)
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			hs.Shutdown(sctx)
			scancel()
			return err
		case <-ctx.Done():
			log.Info("shutting down")
			sdNotifyStopping()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			hs.Shutdown(sctx)
			scancel()
			return nil
		case <-reload:
			if cfg.PolicyFile == "" {
				log.Info("SIGHUP: no policy_file configured; nothing to reload")
				continue
			}
			if _, err := d.applyPolicyFile(ctx, "SIGHUP"); err != nil {
				log.Error("policy reload rejected; the running policy is unchanged", "err", err)
			}
		}
	}
}

// initialPolicy applies policy_file (or the demo policy) at start, or uses
// the newest stored policy.
func (d *daemon) initialPolicy(ctx context.Context) (*escalation.Policy, error) {
	switch {
	case d.cfg.PolicyFile != "":
		return d.applyPolicyFile(ctx, "start")
	case d.cfg.demo:
		if p, _, _, err := d.db.CurrentPolicy(ctx); err == nil {
			return p, nil
		}
		return d.applyPolicy(ctx, "demo/policy.yaml", demoPolicy, "demo")
	}
	p, _, _, err := d.db.CurrentPolicy(ctx)
	if escalation.KindOf(err) == escalation.NotFound {
		d.log.Warn("no policy applied yet: alerts are recorded but nobody is paged; run `tocsin policy apply FILE`")
		return &escalation.Policy{}, nil
	}
	return p, err
}

// watchPolicyFile applies policy_file again when it changes on disk (an
// editor's save, a config-management push). A file that does not pass
// validation is reported and the running policy stays.
func (d *daemon) watchPolicyFile(ctx context.Context) {
	stamp := func() string {
		fi, err := os.Stat(d.cfg.PolicyFile)
		if err != nil {
			return "missing"
		}
		return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := stamp()
		if now == last || now == "missing" {
			continue
		}
		last = now
		if _, err := d.applyPolicyFile(ctx, "file change"); err != nil {
			d.log.Error("changed policy file rejected; the running policy is unchanged", "file", d.cfg.PolicyFile, "err", err)
		}
	}
}

func (d *daemon) applyPolicyFile(ctx context.Context, by string) (*escalation.Policy, error) {
	data, err := os.ReadFile(d.cfg.PolicyFile)
	if err != nil {
		return nil, err
	}
	return d.applyPolicy(ctx, d.cfg.PolicyFile, data, by)
}

// applyPolicy validates and stores a policy and hands it to the engine. A
// rejected policy changes nothing.
func (d *daemon) applyPolicy(ctx context.Context, name string, data []byte, by string) (*escalation.Policy, error) {
	d.policyMu.Lock()
	defer d.policyMu.Unlock()
	p, err := policyfile.Load(name, data)
	if err != nil {
		return nil, &escalation.Error{Kind: escalation.Invalid, Field: "policy", Msg: "policy rejected", Err: err}
	}
	v, changed, err := d.db.ApplyPolicy(ctx, p, data, by, time.Now())
	if err != nil {
		return nil, err
	}
	p.Version = v.Version
	if d.engine != nil {
		d.engine.SetPolicy(p)
	}
	if changed {
		d.log.Info("policy applied", "version", v.Version, "hash", v.Hash[:12], "by", by, "from", name)
	}
	return p, nil
}

func (d *daemon) httpServer(tokens []TokenConfig) *httpapi.Server {
	var toks []httpapi.Token
	for _, t := range tokens {
		toks = append(toks, httpapi.Token{Name: t.Name, Token: t.Token})
	}
	srv := httpapi.New(httpapi.Options{
		Engine: d.engine,
		Tokens: toks,
		Log:    d.log.With("part", "http"),
		Health: d.health,
		Status: func(ctx context.Context) any { return d.status(ctx) },
		OnCall: func(ctx context.Context, at time.Time) (any, error) {
			return escalation.OnCallAll(d.engine.Policy(), at)
		},
		Press: d.press,
		PolicyGet: func(ctx context.Context) ([]byte, error) {
			return policyfile.Marshal(d.engine.Policy())
		},
		PolicyPut: func(ctx context.Context, body []byte, by string) (any, error) {
			p, err := d.applyPolicy(ctx, "request", body, by)
			if err != nil {
				return nil, err
			}
			return map[string]any{"version": p.Version}, nil
		},
		Heartbeat:     d.heartbeat,
		Drill:         d.drill,
		ObserveIngest: d.observeIngest,
	})
	srv.Handle("GET /metrics", d.obs.metrics)
	d.mountReport(srv)
	if d.link.sim != nil {
		d.mountSimPhones(srv)
	}
	return srv
}

func (d *daemon) health(ctx context.Context) error {
	if err := d.db.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if age := time.Since(d.engine.LastTick()); age > time.Minute {
		return fmt.Errorf("engine loop has not run for %s", age.Round(time.Second))
	}
	return nil
}

type statusDoc struct {
	Version  string       `json:"version"`
	Uptime   string       `json:"uptime"`
	Demo     bool         `json:"demo,omitempty"`
	Database dbStatus     `json:"database"`
	Engine   engineStatus `json:"engine"`
	Modem    modemStatus  `json:"modem"`
	Outbox   outboxStatus `json:"outbox"`
	Policy   any          `json:"policy"`
	GPIO     any          `json:"gpio,omitempty"`
	MQTT     any          `json:"mqtt,omitempty"`
}

type dbStatus struct {
	Path  string `json:"path"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type engineStatus struct {
	LastTick string `json:"last_tick"`
	Open     int    `json:"open_incidents"`
}

type outboxStatus struct {
	Depth int `json:"depth"`
	phone.Stats
}

func (d *daemon) status(ctx context.Context) statusDoc {
	s := statusDoc{
		Version: version,
		Uptime:  time.Since(d.started).Round(time.Second).String(),
		Demo:    d.cfg.demo,
		Modem:   d.link.status(),
		Engine:  engineStatus{LastTick: d.engine.LastTick().UTC().Format(time.RFC3339Nano)},
	}
	s.Database = dbStatus{Path: d.db.Path(), OK: true}
	if err := d.db.Check(ctx); err != nil {
		s.Database.OK, s.Database.Error = false, err.Error()
	}
	depth, _ := d.db.OutboxDepth(ctx)
	s.Outbox = outboxStatus{Depth: depth, Stats: d.phone.Stats()}
	if open, err := d.engine.Incidents(ctx, escalation.IncidentFilter{Open: true, Limit: 100000}); err == nil {
		s.Engine.Open = len(open)
	}
	if _, _, v, err := d.db.CurrentPolicy(ctx); err == nil {
		s.Policy = v
	}
	if d.gpio != nil {
		s.GPIO = gpioStatus{Status: d.gpio.Status(), Zones: d.panel.Status()}
	}
	if d.mqtt != nil {
		s.MQTT = d.mqtt.Status()
	}
	return s
}

type gpioStatus struct {
	device.Status
	Zones []panel.ZoneStatus `json:"zones"`
}

// press presses a GPIO input for the API (`tocsin gpio press`).
func (d *daemon) press(ctx context.Context, input string, long bool) error {
	if d.gpio == nil {
		return escalation.NotFoundf("GPIO is off (gpio.backend: none)")
	}
	if err := d.gpio.Press(ctx, input, long); err != nil {
		if errors.Is(err, device.ErrUnknown) {
			return escalation.NotFoundf("%v", err)
		}
		return err
	}
	return nil
}

// healthLight shows Tocsin's own health on the status outputs: steady when
// all is well, blink codes for a down modem or a failing database. The
// modem is looked at every second; the database (a write, so it is done
// sparingly on an SD card) every 30 seconds.
func (d *daemon) healthLight(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var h device.Health
	for i := 0; ; i++ {
		h.ModemDown = !d.link.status().Up
		h.MQTTDown = d.mqtt != nil && !d.mqtt.Status().Connected
		if i%30 == 0 {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			h.DatabaseError = d.db.Ping(pctx) != nil && ctx.Err() == nil
			cancel()
		}
		d.gpio.SetHealth(h)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mountSimPhones adds the demo's simulated phones: what each number
// received and a way to reply from it through the simulated modem, exactly
// as a real reply arrives.
func (d *daemon) mountSimPhones(srv *httpapi.Server) {
	sim := d.link.sim
	srv.Handle("GET /api/v1/sim/phones", srv.Authenticated(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(sim.Messages())
	}))
	srv.Handle("POST /api/v1/sim/phones/{number}/sms", srv.Authenticated(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil || strings.TrimSpace(body.Text) == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintln(w, `{"error":"body must be {\"text\": \"...\"}","field":"text"}`)
			return
		}
		// Phones show numbers as people write them: "090-1234-5678".
		number := strings.NewReplacer("-", "", " ", "", "(", "", ")", "").Replace(r.PathValue("number"))
		if err := sim.InjectSMS(number, body.Text); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error(), "field": "number"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]string{"from": r.PathValue("number"), "text": body.Text})
	}))
}
