package device

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// TowerConfig is a networked signal tower (PATLITE LA6-POE style HTTP
// control) acting as one more output of a zone: its alarm tier flashes
// while the zone has unacknowledged incidents and is steady once they are
// acknowledged; its buzzer follows the zone's siren.
type TowerConfig struct {
	ID   string `yaml:"id" json:"id"`
	Zone string `yaml:"zone" json:"zone"`
	URL  string `yaml:"url" json:"url"` // http://192.168.10.1
	// AlarmTier is the tier (1 top to 5) lit for alarms, default 1 (red on
	// a stock tower). OKTier, if set, is lit steady while the zone is clear.
	// Tiers Tocsin does not use are left unchanged.
	AlarmTier int            `yaml:"alarm_tier,omitempty" json:"alarm_tier,omitempty"`
	OKTier    int            `yaml:"ok_tier,omitempty" json:"ok_tier,omitempty"`
	Buzzer    BuzzerPatterns `yaml:"buzzer,omitempty" json:"buzzer,omitempty"`
	Timeout   time.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty"` // per request, default 2s
	Retries   int            `yaml:"retries,omitempty" json:"retries,omitempty"` // after the first try, default 2
}

// BuzzerPatterns maps alarm levels to the tower's buzzer digit: 0 stop,
// 1 pattern 1, 2 pattern 2, 3 the external buzzer input. Defaults:
// critical 1, error 2, warning and info 0.
type BuzzerPatterns struct {
	Critical *int `yaml:"critical,omitempty" json:"critical,omitempty"`
	Error    *int `yaml:"error,omitempty" json:"error,omitempty"`
	Warning  *int `yaml:"warning,omitempty" json:"warning,omitempty"`
	Info     *int `yaml:"info,omitempty" json:"info,omitempty"`
}

func (b BuzzerPatterns) forAlarm(a Alarm) int {
	pick := func(p *int, def int) int {
		if p != nil {
			return *p
		}
		return def
	}
	switch a {
	case AlarmCritical:
		return pick(b.Critical, 1)
	case AlarmError:
		return pick(b.Error, 2)
	case AlarmWarning:
		return pick(b.Warning, 0)
	case AlarmInfo:
		return pick(b.Info, 0)
	}
	return 0
}

// TowerError is a tower's answer that was not "Success".
type TowerError struct {
	Status int    // HTTP status
	Body   string // first line of the answer
}

func (e *TowerError) Error() string {
	return fmt.Sprintf("tower answered %d %q", e.Status, e.Body)
}

// TowerState is one tower in Status.
type TowerState struct {
	ID    string `json:"id"`
	Zone  string `json:"zone"`
	URL   string `json:"url"`
	Sent  string `json:"sent"`  // last command the tower accepted
	Error string `json:"error"` // last failure, empty once a command succeeds
}

// tower sends the zone's wanted state to one signal tower. Only the latest
// state matters: while a request is retried, newer states replace older.
type tower struct {
	cfg    TowerConfig
	client *http.Client
	kick   chan struct{}

	mu     sync.Mutex // guards the fields below
	wanted string     // query to send
	sent   string     // last query accepted
	err    error
}

func newTower(cfg TowerConfig, client *http.Client) *tower {
	return &tower{cfg: cfg, client: client, kick: make(chan struct{}, 1)}
}

func (t *tower) timeout() time.Duration {
	if t.cfg.Timeout > 0 {
		return t.cfg.Timeout
	}
	return 2 * time.Second
}

func (t *tower) retries() int {
	if t.cfg.Retries > 0 {
		return t.cfg.Retries
	}
	return 2
}

func (t *tower) clearQuery() string { return "clear=1" }

// alertQuery builds "alert=T1T2T3T4T5B" for a zone state.
func (t *tower) alertQuery(z ZoneState, lampTest bool) string {
	digits := []byte("999999")
	alarm := t.cfg.AlarmTier
	if alarm == 0 {
		alarm = 1
	}
	switch {
	case lampTest:
		digits[alarm-1] = '1'
	case z.Light == LightFlashing:
		digits[alarm-1] = '2'
	case z.Light == LightSteady:
		digits[alarm-1] = '1'
	default:
		digits[alarm-1] = '0'
	}
	if ok := t.cfg.OKTier; ok > 0 {
		digits[ok-1] = '0'
		if lampTest || z.Light == LightOff {
			digits[ok-1] = '1'
		}
	}
	digits[5] = byte('0' + t.cfg.Buzzer.forAlarm(z.Siren))
	return "alert=" + string(digits)
}

func (t *tower) want(z ZoneState, lampTest bool) {
	q := t.alertQuery(z, lampTest)
	t.mu.Lock()
	t.wanted = q
	t.mu.Unlock()
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

func (t *tower) state() TowerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := TowerState{ID: t.cfg.ID, Zone: t.cfg.Zone, URL: t.cfg.URL, Sent: t.sent}
	if t.err != nil {
		s.Error = t.err.Error()
	}
	return s
}

// run clears the tower (its safe state), then sends each new wanted state
// until stop closes. A state that could not be delivered is tried again
// every 30s.
func (t *tower) run(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // ends with run: cancel is deferred above
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	_ = t.send(ctx, t.clearQuery())
	for {
		t.mu.Lock()
		q, done := t.wanted, t.wanted == t.sent || t.wanted == ""
		t.mu.Unlock()
		if !done {
			err := t.send(ctx, q)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				retry.Reset(30 * time.Second)
			}
		}
		select {
		case <-stop:
			return
		case <-t.kick:
		case <-retry.C:
		}
	}
}

// send delivers one query, retrying with a growing pause, and records the
// outcome.
func (t *tower) send(ctx context.Context, q string) error {
	var err error
	pause := 200 * time.Millisecond
	for attempt := 0; attempt <= t.retries(); attempt++ {
		if attempt > 0 {
			if sleep(ctx, nil, pause) != nil {
				break
			}
			pause *= 2
		}
		if err = t.get(ctx, q); err == nil {
			break
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		t.sent = q
	}
	t.err = err
	return err
}

func (t *tower) get(ctx context.Context, q string) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	u := strings.TrimRight(t.cfg.URL, "/") + "/api/control?" + q
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("tower %s: %w", t.cfg.ID, err)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("tower %s: %w", t.cfg.ID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(line, "Success") {
		return &TowerError{Status: resp.StatusCode, Body: line}
	}
	return nil
}
