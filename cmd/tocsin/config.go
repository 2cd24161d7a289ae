package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/escalation"
)

// Config is the daemon configuration of docs/reference.md §3. It is parsed and
// validated once, here, and handed down as typed values.
type Config struct {
	StateDir   string         `yaml:"state_dir"`
	PolicyFile string         `yaml:"policy_file"`
	HTTP       HTTPConfig     `yaml:"http"`
	MQTT       *MQTTConfig    `yaml:"mqtt"`
	Modem      ModemConfig    `yaml:"modem"`
	GPIO       device.Config  `yaml:"gpio"`
	Log        LogConfig      `yaml:"log"`
	Uplink     *UplinkConfig  `yaml:"uplink"`  // optional; see uplink.go
	Email      *EmailConfig   `yaml:"email"`   // optional; see channels.go
	Push       *PushConfig    `yaml:"push"`    // optional; see channels.go
	Cluster    *ClusterConfig `yaml:"cluster"` // optional twin relays; see cluster.go

	file string // where it was read from ("" for the demo)
	demo bool
}

// HTTPConfig is the API and console listener.
type HTTPConfig struct {
	Listen string        `yaml:"listen"`
	Tokens []TokenConfig `yaml:"tokens"`
	TLS    *TLSFiles     `yaml:"tls"`
	Users  []UserConfig  `yaml:"users"`
	Limits HTTPLimits    `yaml:"limits"` // timeouts and connection caps; see httplimits.go
}

// TokenConfig is one bearer token, inline or in a file.
type TokenConfig struct {
	Name      string `yaml:"name"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	ReadOnly  bool   `yaml:"read_only"`
}

// UserConfig is a console login.
type UserConfig struct {
	Name         string `yaml:"name"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	ReadOnly     bool   `yaml:"read_only"`
}

// TLSFiles names certificate files.
type TLSFiles struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// MQTTConfig is the MQTT client (and optional embedded broker).
type MQTTConfig struct {
	Broker         string             `yaml:"broker"`
	EmbeddedListen string             `yaml:"embedded_listen"`
	ClientID       string             `yaml:"client_id"`
	Username       string             `yaml:"username"`
	Password       string             `yaml:"password"`
	PasswordFile   string             `yaml:"password_file"`
	TLS            *TLSFiles          `yaml:"tls"`
	TopicPrefix    string             `yaml:"topic_prefix"`
	Subscriptions  []MQTTSubscription `yaml:"subscriptions"`
	Heartbeats     []MQTTHeartbeat    `yaml:"heartbeats"`
}

// MQTTSubscription maps a topic filter to a service.
type MQTTSubscription struct {
	Topic   string `yaml:"topic"`
	Service string `yaml:"service"`
	Format  string `yaml:"format"`
}

// MQTTHeartbeat maps a topic to a policy heartbeat id.
type MQTTHeartbeat struct {
	Topic     string `yaml:"topic"`
	Heartbeat string `yaml:"heartbeat"`
}

// ModemConfig is the cellular modem.
type ModemConfig struct {
	Device      string                 `yaml:"device"` // a serial device, or "sim"
	Baud        int                    `yaml:"baud"`
	Profile     string                 `yaml:"profile"`
	PinFile     string                 `yaml:"pin_file"`
	PowerKey    *device.PowerKeyConfig `yaml:"power_key"`
	RingTimeout duration               `yaml:"ring_timeout"`
	// PerMinute limits SMS per contact per minute (storm control).
	SMSPerMinute int `yaml:"sms_per_minute"`
	// HealthGrace is how long the modem may be unusable before the
	// "tocsin" modem-health incident opens (default 5m; tests shorten it).
	HealthGrace duration `yaml:"health_grace"`
}

// LogConfig selects log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// duration reads Go durations in YAML.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := escalation.ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// configError is one "file:line: message".
type configError struct {
	File string
	Line int
	Msg  string
}

func (e configError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// configErrors collects every problem found, so a user fixes them in one go.
type configErrors []configError

func (es configErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// loadConfig reads and validates a config file.
func loadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseConfig(file, data)
}

func parseConfig(file string, data []byte) (*Config, error) {
	c, _, err := parseConfigDoc(file, data)
	return c, err
}

// parseConfigDoc also returns the YAML document, for messages that point
// at a line (tocsin check).
func parseConfigDoc(file string, data []byte) (*Config, *yaml.Node, error) {
	var c Config
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, configErrors{lineError(file, err.Error())}
	}
	if errs := checkConfigKeys(file, &root, reflect.TypeFor[Config]()); len(errs) > 0 {
		return nil, nil, errs
	}
	if len(root.Content) > 0 {
		if err := root.Decode(&c); err != nil {
			var te *yaml.TypeError
			var errs configErrors
			if errors.As(err, &te) {
				for _, m := range te.Errors {
					errs = append(errs, lineError(file, m))
				}
			} else {
				errs = append(errs, lineError(file, err.Error()))
			}
			return nil, nil, errs
		}
	}
	c.file = file
	if errs := c.validate(&root); len(errs) > 0 {
		return nil, nil, errs
	}
	return &c, &root, nil
}

func lineError(file, msg string) configError {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return configError{File: file, Line: n, Msg: m[2]}
	}
	return configError{File: file, Msg: msg}
}

// nodeLine finds the line of a key path such as "modem.device" in the
// document, for validation errors.
func nodeLine(root *yaml.Node, path ...string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, p := range path {
		if n == nil {
			return line
		}
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					line = n.Content[i].Line
					next = n.Content[i+1]
					break
				}
			}
			n = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// validate checks what YAML decoding cannot, and fills defaults.
func (c *Config) validate(root *yaml.Node) configErrors {
	var errs configErrors
	bad := func(msg string, path ...string) {
		errs = append(errs, configError{File: c.file, Line: nodeLine(root, path...), Msg: msg})
	}
	if c.StateDir == "" {
		c.StateDir = "/var/lib/tocsin"
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8080"
	}
	if err := checkAddress(c.HTTP.Listen); err != nil {
		bad(fmt.Sprintf("http.listen %q: %v", c.HTTP.Listen, err), "http", "listen")
	}
	seen := map[string]bool{}
	for i, t := range c.HTTP.Tokens {
		idx := strconv.Itoa(i)
		if t.Name == "" {
			bad("http.tokens: every token needs a name", "http", "tokens", idx)
		}
		if seen[t.Name] {
			bad(fmt.Sprintf("http.tokens: duplicate name %q", t.Name), "http", "tokens", idx)
		}
		seen[t.Name] = true
		if (t.Token == "") == (t.TokenFile == "") {
			bad(fmt.Sprintf("http.tokens %q: give exactly one of token and token_file", t.Name), "http", "tokens", idx)
		}
	}
	if err := c.HTTP.Limits.limits().Validate(); err != nil {
		bad("http.limits: "+err.Error(), "http", "limits")
	}
	if c.HTTP.TLS != nil && (c.HTTP.TLS.CertFile == "" || c.HTTP.TLS.KeyFile == "") {
		bad("http.tls needs cert_file and key_file", "http", "tls")
	}
	if c.Modem.Device == "" {
		bad("modem.device is required: a serial device such as /dev/serial/by-id/... or \"sim\"", "modem")
	}
	if c.Modem.Baud == 0 {
		c.Modem.Baud = 115200
	}
	switch c.Modem.Profile {
	case "", "generic", "sim7600", "ec25", "sim800":
	default:
		bad(fmt.Sprintf("modem.profile %q: want generic, sim7600, ec25 or sim800", c.Modem.Profile), "modem", "profile")
	}
	if c.Modem.RingTimeout == 0 {
		c.Modem.RingTimeout = duration(45 * time.Second)
	}
	if c.Modem.HealthGrace == 0 {
		c.Modem.HealthGrace = duration(5 * time.Minute)
	} else if c.Modem.HealthGrace < duration(10*time.Second) {
		bad("modem.health_grace: at least 10s (default 5m)", "modem", "health_grace")
	}
	if c.GPIO.Backend != "none" {
		if err := c.GPIO.Validate(); err != nil {
			for _, msg := range strings.Split(err.Error(), "\n") {
				bad(msg, "gpio")
			}
		}
	}
	if k := c.Modem.PowerKey; k != nil {
		if err := k.Validate(); err != nil {
			bad("modem.power_key: "+err.Error(), "modem", "power_key")
		}
	}
	if m := c.MQTT; m != nil {
		if m.Broker == "" {
			bad("mqtt.broker is required (tcp://host:1883, ssl://host:8883 or embedded)", "mqtt")
		}
		if m.EmbeddedListen != "" {
			if err := checkAddress(m.EmbeddedListen); err != nil {
				bad(fmt.Sprintf("mqtt.embedded_listen %q: %v", m.EmbeddedListen, err), "mqtt", "embedded_listen")
			}
		}
		if m.TopicPrefix == "" {
			m.TopicPrefix = "tocsin"
		}
		if m.ClientID == "" {
			m.ClientID = "tocsin"
		}
		for i, s := range m.Subscriptions {
			switch s.Format {
			case "", "json", "text":
			default:
				bad(fmt.Sprintf("mqtt.subscriptions %q: format %q: want json or text", s.Topic, s.Format), "mqtt", "subscriptions", strconv.Itoa(i), "format")
			}
		}
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		bad(fmt.Sprintf("log.level %q: want debug, info, warn or error", c.Log.Level), "log", "level")
	}
	if c.PolicyFile != "" && !filepath.IsAbs(c.PolicyFile) && c.file != "" {
		c.PolicyFile = filepath.Join(filepath.Dir(c.file), c.PolicyFile)
	}
	errs = append(errs, c.validateUplink(root)...)
	errs = append(errs, c.validateChannels(root)...)
	errs = append(errs, c.validateCluster(root)...)
	return errs
}

// tokens resolves token files.
func (c *Config) tokens() ([]TokenConfig, error) {
	out := make([]TokenConfig, 0, len(c.HTTP.Tokens))
	for _, t := range c.HTTP.Tokens {
		if t.TokenFile != "" {
			b, err := os.ReadFile(t.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("token %q: %w", t.Name, err)
			}
			t.Token = strings.TrimSpace(string(b))
			if t.Token == "" {
				return nil, fmt.Errorf("token %q: %s is empty", t.Name, t.TokenFile)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

func readSecret(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// checkAddress checks a listen address: host:port with a port from 0 to
// 65535 (":8080" listens on every interface).
func checkAddress(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, such as 0.0.0.0:8080 or 127.0.0.1:8080")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is out of range (0 to 65535)", port)
	}
	return nil
}
