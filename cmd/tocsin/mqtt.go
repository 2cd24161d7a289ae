package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/tocsin-relay/tocsin/escalation"
	"github.com/tocsin-relay/tocsin/escalation/mqttapi"
)

// mqttConfig turns the config's mqtt section into the adapter's config,
// reading the password file and the TLS files.
func (c *MQTTConfig) adapterConfig() (mqttapi.Config, error) {
	out := mqttapi.Config{
		Broker:         c.Broker,
		EmbeddedListen: c.EmbeddedListen,
		ClientID:       c.ClientID,
		Username:       c.Username,
		Password:       c.Password,
		TopicPrefix:    c.TopicPrefix,
	}
	for _, s := range c.Subscriptions {
		out.Subscriptions = append(out.Subscriptions, mqttapi.Subscription{Topic: s.Topic, Service: s.Service, Format: s.Format})
	}
	for _, h := range c.Heartbeats {
		out.Heartbeats = append(out.Heartbeats, mqttapi.HeartbeatTopic{Topic: h.Topic, Heartbeat: h.Heartbeat})
	}
	if c.PasswordFile != "" {
		p, err := readSecret(c.PasswordFile)
		if err != nil {
			return out, fmt.Errorf("mqtt.password_file: %w", err)
		}
		out.Password = p
	}
	if t := c.TLS; t != nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return out, fmt.Errorf("mqtt.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return out, fmt.Errorf("mqtt.tls.ca_file %s: no PEM certificates", t.CAFile)
			}
			tc.RootCAs = pool
		}
		if t.CertFile != "" || t.KeyFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return out, fmt.Errorf("mqtt.tls: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		out.TLS = tc
	}
	if err := out.Validate(); err != nil {
		return out, err
	}
	return out, nil
}

// crashAfterCommitsEnv names a test hook: set to K, the daemon kills
// itself with SIGKILL right after its K-th MQTT alert is committed and
// before the adapter can acknowledge it to the broker. It reproduces, on
// demand, the power cut that makes a broker redeliver a committed message
// (TestMQTTRedeliveryCountedOnce). Unset, nothing is wrapped.
const crashAfterCommitsEnv = "TOCSIN_TEST_CRASH_AFTER_MQTT_COMMITS"

// mqttIncidents is what the MQTT adapter commits through: the engine, or
// the engine behind the crash hook.
func mqttIncidents(eng mqttapi.Incidents) mqttapi.Incidents {
	k, err := strconv.ParseInt(os.Getenv(crashAfterCommitsEnv), 10, 64)
	if err != nil || k <= 0 {
		return eng
	}
	return &crashAfterCommits{Incidents: eng, k: k}
}

type crashAfterCommits struct {
	mqttapi.Incidents
	k int64
	n atomic.Int64
}

func (c *crashAfterCommits) Ingest(ctx context.Context, ev escalation.Event) (escalation.IngestResult, error) {
	res, err := c.Incidents.Ingest(ctx, ev)
	if err == nil && c.n.Add(1) == c.k {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the kill is asynchronous: never return to the PUBACK
	}
	return res, err
}
