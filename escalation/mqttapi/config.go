// Package mqttapi is Tocsin's MQTT face (docs/reference.md §6): it turns messages from
// PLCs, SCADA and Node-RED into alerts, publishes Tocsin's own state and
// every incident change, and obeys acknowledge and resolve commands.
//
// Delivery is at-least-once end to end: subscriptions use QoS 1 on a
// persistent session and a message is acknowledged to the broker only after
// the engine has committed it, so an alert published while Tocsin is down,
// restarting or unable to write is delivered again rather than lost. For
// sites without a broker the package can run one inside the daemon
// (mochi-mqtt), reached by the same client code.
package mqttapi

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Config is the mqtt section of tocsin.yaml (docs/reference.md §3). cmd reads the
// password file and builds the TLS configuration; the yaml tags let it embed
// the rest unchanged.
type Config struct {
	// Broker is tcp://host:port, ssl://host:port (also mqtt://, mqtts://,
	// ws://, wss://) or "embedded" to run a broker inside Tocsin.
	Broker string `yaml:"broker"`
	// EmbeddedListen is the embedded broker's listen address (":1883" if
	// empty).
	EmbeddedListen string         `yaml:"embedded_listen,omitempty"`
	ClientID       string         `yaml:"client_id,omitempty"` // "tocsin" if empty; must be stable for the persistent session
	Username       string         `yaml:"username,omitempty"`
	Password       string         `yaml:"-"`                      // from password_file
	TLS            *tls.Config    `yaml:"-"`                      // from tls: {ca_file, cert_file, key_file}
	TopicPrefix    string         `yaml:"topic_prefix,omitempty"` // "tocsin" if empty
	Subscriptions  []Subscription `yaml:"subscriptions,omitempty"`
	// Heartbeats map topics to policy heartbeats: any message on the topic
	// is a beat (a PLC's watchdog counter, a retained "alive").
	Heartbeats []HeartbeatTopic `yaml:"heartbeats,omitempty"`
}

// HeartbeatTopic maps a topic filter to a heartbeat id of the policy.
type HeartbeatTopic struct {
	Topic     string `yaml:"topic"`
	Heartbeat string `yaml:"heartbeat"`
}

// Subscription maps a topic filter to alerts.
type Subscription struct {
	Topic string `yaml:"topic"`
	// Service receives the alerts; a json payload may name its own.
	Service string `yaml:"service,omitempty"`
	// Format is "json" (the /api/v1/alerts shape, the default) or "text"
	// (the payload is the summary).
	Format string `yaml:"format,omitempty"`
}

// Formats of a subscription.
const (
	FormatJSON = "json"
	FormatText = "text"
)

// Embedded is the Broker value that runs a broker inside Tocsin.
const Embedded = "embedded"

const (
	defaultClientID = "tocsin"
	defaultPrefix   = "tocsin"
	defaultListen   = ":1883"
)

// withDefaults returns cfg with empty fields given their documented values.
func (cfg Config) withDefaults() Config {
	if cfg.ClientID == "" {
		cfg.ClientID = defaultClientID
	}
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = defaultPrefix
	}
	cfg.TopicPrefix = strings.TrimSuffix(cfg.TopicPrefix, "/")
	if cfg.Broker == Embedded && cfg.EmbeddedListen == "" {
		cfg.EmbeddedListen = defaultListen
	}
	subs := make([]Subscription, len(cfg.Subscriptions))
	for i, s := range cfg.Subscriptions {
		if s.Format == "" {
			s.Format = FormatJSON
		}
		subs[i] = s
	}
	cfg.Subscriptions = subs
	return cfg
}

// Validate reports the first problem with cfg, naming the key at fault, so
// `tocsin check` can point at it.
func (cfg Config) Validate() error {
	c := cfg.withDefaults()
	switch {
	case c.Broker == "":
		return fmt.Errorf("mqtt.broker: missing (tcp://host:1883, ssl://host:8883 or embedded)")
	case c.Broker == Embedded:
		host, _, err := net.SplitHostPort(c.EmbeddedListen)
		if err != nil {
			return fmt.Errorf("mqtt.embedded_listen: %q is not host:port: %w", c.EmbeddedListen, err)
		}
		if !loopbackOnly(host) && (c.Username == "" || c.Password == "") {
			return fmt.Errorf("mqtt.embedded_listen: %q is reachable from the network, so mqtt.username and mqtt.password_file are required", c.EmbeddedListen)
		}
	default:
		u, err := url.Parse(c.Broker)
		if err != nil {
			return fmt.Errorf("mqtt.broker: %w", err)
		}
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
		default:
			return fmt.Errorf("mqtt.broker: %q: unknown scheme %q (want tcp://, ssl://, ws://, wss:// or embedded)", c.Broker, u.Scheme)
		}
		if u.Host == "" {
			return fmt.Errorf("mqtt.broker: %q names no host", c.Broker)
		}
	}
	if strings.ContainsAny(c.TopicPrefix, "+#") || strings.HasPrefix(c.TopicPrefix, "$") {
		return fmt.Errorf("mqtt.topic_prefix: %q must be a plain topic (no +, # or leading $)", c.TopicPrefix)
	}
	for i, s := range c.Subscriptions {
		key := fmt.Sprintf("mqtt.subscriptions[%d]", i)
		if err := validFilter(s.Topic); err != nil {
			return fmt.Errorf("%s.topic: %w", key, err)
		}
		switch s.Format {
		case FormatJSON:
		case FormatText:
			if s.Service == "" {
				return fmt.Errorf("%s.service: required for text payloads (they cannot name a service)", key)
			}
		default:
			return fmt.Errorf("%s.format: %q (want json or text)", key, s.Format)
		}
		if topicMatch(s.Topic, c.TopicPrefix+"/incidents/1") || topicMatch(s.Topic, c.TopicPrefix+"/status") {
			return fmt.Errorf("%s.topic: %q also matches Tocsin's own topics under %s/: Tocsin would page about its own messages", key, s.Topic, c.TopicPrefix)
		}
	}
	for i, h := range c.Heartbeats {
		key := fmt.Sprintf("mqtt.heartbeats[%d]", i)
		if err := validFilter(h.Topic); err != nil {
			return fmt.Errorf("%s.topic: %w", key, err)
		}
		if h.Heartbeat == "" {
			return fmt.Errorf("%s.heartbeat: missing (the id of a heartbeat in the policy)", key)
		}
	}
	return nil
}

// loopbackOnly reports whether a listen host accepts local connections only.
func loopbackOnly(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validFilter checks an MQTT topic filter (MQTT 3.1.1 §4.7).
func validFilter(f string) error {
	if f == "" {
		return fmt.Errorf("empty topic filter")
	}
	if strings.ContainsRune(f, 0) {
		return fmt.Errorf("topic filter %q contains NUL", f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("topic filter %q: # must be the last level", f)
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return fmt.Errorf("topic filter %q: + and # must fill a whole level", f)
		}
	}
	return nil
}

// topicMatch reports whether topic matches filter (MQTT 3.1.1 §4.7):
// "+" matches one level, a final "#" any number including none, and
// wildcards at the start do not match topics beginning with "$".
func topicMatch(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	fl := strings.Split(filter, "/")
	tl := strings.Split(topic, "/")
	for i, f := range fl {
		if f == "#" {
			return i == len(fl)-1
		}
		if i >= len(tl) {
			return false
		}
		if f != "+" && f != tl[i] {
			return false
		}
	}
	return len(fl) == len(tl)
}
