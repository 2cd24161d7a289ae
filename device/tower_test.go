package device_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/device"
)

// fakeTower answers like a PATLITE LA6-POE and records every request.
type fakeTower struct {
	*httptest.Server
	requests chan string // the raw query of each request

	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request) // consumed first, then Success.
}

func newFakeTower(t *testing.T) *fakeTower {
	ft := &fakeTower{requests: make(chan string, 100)}
	ft.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/control" {
			http.NotFound(w, r)
			return
		}
		ft.requests <- r.URL.RawQuery
		ft.mu.Lock()
		var answer func(http.ResponseWriter, *http.Request)
		if len(ft.answers) > 0 {
			answer, ft.answers = ft.answers[0], ft.answers[1:]
		}
		ft.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		w.Write([]byte("Success.\r\n"))
	}))
	t.Cleanup(ft.Close)
	return ft
}

func (ft *fakeTower) then(answers ...func(w http.ResponseWriter, r *http.Request)) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.answers = append(ft.answers, answers...)
}

func (ft *fakeTower) next(t *testing.T) string {
	t.Helper()
	select {
	case q := <-ft.requests:
		return q
	case <-time.After(5 * time.Second):
		t.Fatal("the tower got no request")
		return ""
	}
}

func serverError(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "busy", http.StatusInternalServerError)
}
func badParam(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("Error.\r\n")) }
func hang(_ http.ResponseWriter, r *http.Request)     { <-r.Context().Done() }

func towerConfig(url string) device.Config {
	// Generous: the tests also run in the slow QEMU guest of make
	// test-kernel, where a timed-out request that did arrive would be
	// retried and recorded twice.
	return device.Config{Towers: []device.TowerConfig{{ID: "tower-1", Zone: "line1", URL: url, OKTier: 3, Timeout: 5 * time.Second}}}
}

func TestTowerFollowsZone(t *testing.T) {
	ft := newFakeTower(t)
	m, err := device.Open(pins{}.backend(), towerConfig(ft.URL), device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Tiers 1-5 then the buzzer; 9 leaves a tier Tocsin does not use alone.
	steps := []struct {
		set  *device.ZoneState
		want string
	}{
		{nil, "clear=1"}, // safe state on start
		{nil, "alert=091990"},
		{&device.ZoneState{Siren: device.AlarmCritical, Light: device.LightFlashing}, "alert=290991"},
		{&device.ZoneState{Siren: device.AlarmError, Light: device.LightFlashing}, "alert=290992"},
		{&device.ZoneState{Light: device.LightSteady}, "alert=190990"},
		{&device.ZoneState{}, "alert=091990"},
	}
	for _, s := range steps {
		if s.set != nil {
			m.SetZone("line1", *s.set)
		}
		if got := ft.next(t); got != s.want {
			t.Fatalf("tower got %q, want %q", got, s.want)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := ft.next(t); got != "clear=1" {
		t.Errorf("on close the tower got %q, want clear=1", got)
	}
	if st := m.Status().Towers[0]; st.Sent != "clear=1" || st.Error != "" {
		t.Errorf("status %+v", st)
	}
}

func TestTowerRetries(t *testing.T) {
	ft := newFakeTower(t)
	ft.then(serverError, hang) // the first clear fails twice, then succeeds
	cfg := towerConfig(ft.URL)
	cfg.Towers[0].Timeout = time.Second // for the hanging answer
	m, err := device.Open(pins{}.backend(), cfg, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i, want := range []string{"clear=1", "clear=1", "clear=1", "alert=091990"} {
		if got := ft.next(t); got != want {
			t.Fatalf("request %d: got %q, want %q", i, got, want)
		}
	}
}

func TestTowerGivesUpAndReports(t *testing.T) {
	ft := newFakeTower(t)
	inHandler, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	// A failed test must not leave the gate shut: the server's Close
	// would wait for it forever.
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	// The gate holds the new state's request. A retry of the refused
	// state that comes first (every 30 s after giving up, so only on a
	// very slow machine) is refused again and leaves the gate in place.
	var gate func(w http.ResponseWriter, r *http.Request)
	gate = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "alert=290990" {
			ft.then(gate)
			badParam(w, r)
			return
		}
		inHandler <- struct{}{}
		<-release
		w.Write([]byte("Success.\r\n"))
	}
	ft.then(nil, badParam, badParam, badParam, gate)
	cfg := towerConfig(ft.URL)
	cfg.Towers[0].Retries = 2
	m, err := device.Open(pins{}.backend(), cfg, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, want := range []string{"clear=1", "alert=091990", "alert=091990", "alert=091990"} {
		if got := ft.next(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	m.SetZone("line1", device.ZoneState{Light: device.LightFlashing})
	<-inHandler
	for got := ft.next(t); got != "alert=290990"; got = ft.next(t) {
		if got != "alert=091990" {
			t.Fatalf("got %q, want the new state alert=290990", got)
		}
	}
	st := m.Status().Towers[0]
	if st.Sent != "clear=1" || !strings.Contains(st.Error, `tower answered 200 "Error."`) {
		t.Errorf("status after three refusals: %+v", st)
	}
	releaseOnce.Do(func() { close(release) })
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if st := m.Status().Towers[0]; st.Error != "" || st.Sent != "clear=1" {
		t.Errorf("status after close: %+v", st)
	}
}
