package main

import (
	"time"

	"github.com/tocsin-relay/tocsin/escalation/httpapi"
)

// HTTPLimits is the optional http.limits section: the HTTP server's
// timeouts and connection caps. A field left out keeps the default of
// httpapi.DefaultLimits (sized for a Raspberry Pi).
type HTTPLimits struct {
	ReadHeaderTimeout        duration `yaml:"read_header_timeout"`
	ReadTimeout              duration `yaml:"read_timeout"`
	WriteTimeout             duration `yaml:"write_timeout"`
	IdleTimeout              duration `yaml:"idle_timeout"`
	MaxConnections           int      `yaml:"max_connections"`
	MaxConnectionsPerAddress int      `yaml:"max_connections_per_address"`
}

// limits is the section over the defaults.
func (h HTTPLimits) limits() httpapi.Limits {
	l := httpapi.DefaultLimits()
	set := func(dst *time.Duration, v duration) {
		if v != 0 {
			*dst = time.Duration(v)
		}
	}
	set(&l.ReadHeaderTimeout, h.ReadHeaderTimeout)
	set(&l.ReadTimeout, h.ReadTimeout)
	set(&l.WriteTimeout, h.WriteTimeout)
	set(&l.IdleTimeout, h.IdleTimeout)
	if h.MaxConnections != 0 {
		l.MaxConns = h.MaxConnections
	}
	if h.MaxConnectionsPerAddress != 0 {
		l.MaxConnsPerAddr = h.MaxConnectionsPerAddress
	}
	return l
}
