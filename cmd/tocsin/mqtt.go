package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

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
