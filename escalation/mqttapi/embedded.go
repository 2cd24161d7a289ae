package mqttapi

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"math"
	"net"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// embeddedBroker is a mochi-mqtt broker run inside the daemon for sites
// with no broker of their own. Its sessions live in memory: a message
// published while the daemon (and so the broker) is down is refused by
// the network, not lost after acceptance, and publishers retry it.
type embeddedBroker struct {
	srv      *mochi.Server
	dialAddr string // where the daemon's own client connects
}

// startEmbedded starts the broker on cfg.EmbeddedListen. It requires
// credentials unless the listener is reachable from this host only; the
// configured username and password are then accepted for every client.
func startEmbedded(cfg Config, log *slog.Logger) (*embeddedBroker, error) {
	host, _, err := net.SplitHostPort(cfg.EmbeddedListen)
	if err != nil {
		return nil, fmt.Errorf("mqtt.embedded_listen %q: %w", cfg.EmbeddedListen, err)
	}
	srv := mochi.New(&mochi.Options{
		Logger:       log.With("component", "mqtt-broker"),
		InlineClient: false,
		Capabilities: embeddedCapabilities(),
	})
	switch {
	case cfg.Username != "" && cfg.Password != "":
		err = srv.AddHook(&credentials{user: []byte(cfg.Username), pass: []byte(cfg.Password)}, nil)
	case loopbackOnly(host):
		err = srv.AddHook(new(auth.AllowHook), nil)
	default:
		return nil, fmt.Errorf("mqtt.embedded_listen %q is reachable from the network: set mqtt.username and mqtt.password_file", cfg.EmbeddedListen)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tocsin", Address: cfg.EmbeddedListen})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("embedded broker: listen on %s: %w", cfg.EmbeddedListen, err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	// Dial the address actually bound (":0" picks a port), on loopback
	// when the listener is on every interface.
	_, port, _ := net.SplitHostPort(tcp.Address())
	dialHost := host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		dialHost = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			dialHost = "::1"
		}
	}
	return &embeddedBroker{srv: srv, dialAddr: net.JoinHostPort(dialHost, port)}, nil
}

func (b *embeddedBroker) close() { b.srv.Close() }

// embeddedCapabilities are mochi's defaults with its two queue limits
// raised to the protocol's own: a client may have at most 65,535 QoS 1
// messages unacknowledged (one per packet id). With the defaults (8,192
// each) mochi drops, for good, a message already accepted from a PLC
// when Tocsin's session has 8,192 waiting: during an alarm storm that
// Tocsin commits more slowly than it arrives, or while its client
// reconnects. Drops are now only possible beyond 65,535 waiting messages,
// where no broker can hand out another packet id. The price is memory:
// mochi sizes each client's write queue up front (65,535 pointers, about
// 512 kB per connected client).
func embeddedCapabilities() *mochi.Capabilities {
	c := mochi.NewDefaultServerCapabilities()
	c.MaximumInflight = math.MaxUint16
	c.MaximumClientWritesPending = math.MaxUint16
	return c
}

// credentials admits clients presenting the configured username and
// password (compared in constant time) and lets them use every topic.
type credentials struct {
	mochi.HookBase
	user, pass []byte
}

func (h *credentials) ID() string { return "tocsin-credentials" }

func (h *credentials) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (h *credentials) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	u := subtle.ConstantTimeCompare(pk.Connect.Username, h.user)
	p := subtle.ConstantTimeCompare(pk.Connect.Password, h.pass)
	return u&p == 1
}

func (h *credentials) OnACLCheck(cl *mochi.Client, topic string, write bool) bool { return true }
