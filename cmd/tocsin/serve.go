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
	"github.com/tocsin-relay/tocsin/escalation/cluster"
	"github.com/tocsin-relay/tocsin/escalation/httpapi"
	"github.com/tocsin-relay/tocsin/escalation/mqttapi"
	"github.com/tocsin-relay/tocsin/escalation/panel"
	"github.com/tocsin-relay/tocsin/escalation/phone"
	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
	"github.com/tocsin-relay/tocsin/escalation/status"
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
	modem   *modemParts
	gpio    *device.Manager // nil with gpio.backend: none
	mqtt    *mqttapi.Client // nil without an mqtt section
	panel   *panel.Panel
	started time.Time
	obs     observability // metrics, heartbeats, uplink check (observe.go)
	chans   channelSet    // e-mail, push and webhook delivery (channels.go)
	node    *cluster.Node // twin relays; nil alone (cluster.go)
	policy  *policyfile.Keeper
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

	// The engine, and the policy it runs (policy_file, else the newest
	// stored version, else the demo's).
	store, err := d.startCluster(ctx) // twin relays: nil cluster section → db
	if err != nil {
		return err
	}
	d.engine = escalation.NewEngine(store, nil, log.With("part", "engine"))
	var fallback *policyfile.Fallback
	if cfg.demo {
		fallback = &policyfile.Fallback{Name: "demo/policy.yaml", Data: demoPolicy}
	}
	d.policy = policyfile.NewKeeper(db, d.engine, cfg.PolicyFile, fallback, refuseExampleNumbers(cfg.Modem.Device), log)
	pol, err := d.policy.Start(ctx)
	if err != nil {
		return err
	}

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

	// Modem (one supervisor) and delivery (one worker). The modem's
	// handlers reach the worker, which exists by the time the supervisor
	// runs.
	d.modem, err = newModem(ctx, cfg, d.modemHandlers(), log.With("part", "modem"))
	if err != nil {
		return err
	}
	defer d.modem.close()
	d.phone = phone.New(d.modem.sup, db, db, d.engine, phone.Options{PerMinute: cfg.Modem.SMSPerMinute,
		RingTimeout: time.Duration(cfg.Modem.RingTimeout), Reports: db, Log: log.With("part", "phone")})
	d.engine.OnOutbox(d.phone.Wake)
	run("modem", func(ctx context.Context) { d.modem.sup.Run(ctx) })
	run("modem-health", func(ctx context.Context) {
		phone.NewModemHealth(d.modem.sup, d.ownIngest(), cfg.Modem.Device, log.With("part", "modem")).Run(ctx)
	})
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
	defer d.runCluster(run)()
	if err := d.startChannels(ctx, run); err != nil {
		return err
	}

	// MQTT: intake, incident states, ack topics.
	if cfg.MQTT != nil {
		mc, err := cfg.MQTT.adapterConfig()
		if err != nil {
			return err
		}
		d.mqtt = mqttapi.New(mc, mqttIncidents(d.engine), log.With("part", "mqtt"))
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
		var mq panel.Connected // the status light blinks MQTT's code only with MQTT
		if d.mqtt != nil {
			mq = d.mqtt
		}
		light := panel.NewHealthLight(mgr, d.modem.sup, db, mq, d.engine)
		run("health-light", func(ctx context.Context) { light.Run(ctx) })
	}

	// HTTP: the API, the console, metrics.
	hs, ln, err := d.listenHTTP(ctx)
	if err != nil {
		return err
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
	run("policy-watch", func(ctx context.Context) { d.policy.Watch(ctx) })
	sdNotifyReady(log)
	run("watchdog", func(ctx context.Context) { sdWatchdog(ctx, d.engine.LastTick, log) })

	for {
		select {
		case err := <-fatal:
			log.Error("stopping", "err", err)
			shutdownHTTP(hs)
			return err
		case <-ctx.Done():
			log.Info("shutting down")
			sdNotifyStopping()
			shutdownHTTP(hs)
			return nil
		case <-reload:
			if cfg.PolicyFile == "" {
				log.Info("SIGHUP: no policy_file configured; nothing to reload")
				continue
			}
			if _, err := d.policy.ApplyFile(ctx, "SIGHUP"); err != nil {
				log.Error("policy reload rejected; the running policy is unchanged", "err", err)
			}
		}
	}
}

// listenHTTP builds the HTTP server (API, console, metrics) and opens its
// listener (with TLS when configured).
func (d *daemon) listenHTTP(ctx context.Context) (*http.Server, net.Listener, error) {
	tokens, err := d.cfg.tokens()
	if err != nil {
		return nil, nil, err
	}
	srv := d.httpServer(tokens)
	if err := d.mountConsole(ctx, srv, tokens); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", d.cfg.HTTP.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("http.listen: %w", err)
	}
	lim := d.cfg.HTTP.Limits.limits()
	ln = httpapi.LimitListener(ln, lim, d.cfg.HTTP.TLS == nil)
	hs := httpapi.NewHTTPServer(srv, lim, slog.NewLogLogger(d.log.Handler(), slog.LevelWarn))
	if t := d.cfg.HTTP.TLS; t != nil {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("http.tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	return hs, ln, nil
}

// shutdownHTTP lets requests in flight finish, for at most 5 seconds.
func shutdownHTTP(hs *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(ctx)
}

func (d *daemon) httpServer(tokens []TokenConfig) *httpapi.Server {
	var toks []httpapi.Token
	for _, t := range tokens {
		toks = append(toks, httpapi.Token{Name: t.Name, Token: t.Token, ReadOnly: t.ReadOnly})
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
			p, err := d.policy.Apply(ctx, "request", body, by)
			if err != nil {
				return nil, err
			}
			return map[string]any{"version": p.Version}, nil
		},
		Heartbeat: d.heartbeat,
		Drill:     d.drill,
		Report: func(ctx context.Context, since, until time.Time) (escalation.Report, error) {
			b := escalation.NewReportBuilder(since, until, escalation.ContactZones(d.engine.Policy()))
			err := d.db.ReportData(ctx, since, until, b)
			return b.Report(), err
		},
		ObserveIngest: d.observeIngest,
		AckLinks:      d.chans.links,
	})
	srv.Handle("GET /metrics", d.obs.metrics)
	if d.modem.sim != nil {
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

// status is GET /api/v1/status: the document is built by escalation/status
// from the parts wired here.
func (d *daemon) status(ctx context.Context) status.Doc {
	p := status.Parts{Version: version, Started: d.started, Demo: d.cfg.demo, Store: d.db, Engine: d.engine,
		Modem: d.modem.sup, Device: d.cfg.Modem.Device, Simulated: d.modem.sim != nil, Delivery: d.phone}
	if d.gpio != nil {
		p.GPIO = func() any { return gpioStatus{Status: d.gpio.Status(), Zones: d.panel.Status()} }
	}
	if d.mqtt != nil {
		p.MQTT = func() any { return d.mqtt.Status() }
	}
	p.Channels = func() []escalation.ChannelHealth { return d.channelStatus(ctx) }
	if d.node != nil {
		p.Cluster = func() any { return d.node.Status() }
	}
	return status.Build(ctx, p)
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

// mountSimPhones adds the demo's simulated phones: what each number
// received and a way to reply from it through the simulated modem, exactly
// as a real reply arrives.
func (d *daemon) mountSimPhones(srv *httpapi.Server) {
	sim := d.modem.sim
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
