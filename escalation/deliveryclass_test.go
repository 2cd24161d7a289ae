package escalation_test

import (
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/tocsin-relay/tocsin/escalation"
)

// TestHTTPSendVerdict: the one judgement of an HTTP send that ntfy and the
// webhooks share. Unreachable waits; a broken connection, a timeout, rate
// limiting and server errors are retried; any other refusal gives up.
func TestHTTPSendVerdict(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tt := range []struct {
		name   string
		err    error
		status int
		want   escalation.Verdict
	}{
		{"unreachable", refused, 0, escalation.Wait},
		{"no such host", &net.DNSError{Err: "no such host", Name: "ntfy.lan"}, 0, escalation.Wait},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, 0, escalation.Retry},
		{"request timeout", nil, 408, escalation.Retry},
		{"rate limited", nil, 429, escalation.Retry},
		{"server error", nil, 500, escalation.Retry},
		{"bad gateway", nil, 502, escalation.Retry},
		{"bad token", nil, 401, escalation.GiveUp},
		{"forbidden topic", nil, 403, escalation.GiveUp},
		{"bad request", nil, 400, escalation.GiveUp},
		{"no such hook", nil, 404, escalation.GiveUp},
		{"hook gone", nil, 410, escalation.GiveUp},
	} {
		if got := escalation.HTTPSendVerdict(tt.err, tt.status); got != tt.want {
			t.Errorf("%s: HTTPSendVerdict = %s, want %s", tt.name, got, tt.want)
		}
	}
}
