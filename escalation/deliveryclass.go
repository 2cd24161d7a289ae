package escalation

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"syscall"
)

// The two failure shapes every network channel shares, judged once here so
// that the e-mail, ntfy and webhook adapters' Classify functions agree.

// NetVerdict judges a transport error. It returns Wait when the other side
// could not be reached at all (refused, unreachable, no such host, a
// failed TLS handshake: nothing was tried, the page waits) and Retry for a
// connection that broke after it was made (a reset, a timeout mid-way). ok
// is false when err is not a transport error.
func NetVerdict(err error) (v Verdict, ok bool) {
	var (
		dnsErr   *net.DNSError
		opErr    *net.OpError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.As(err, &dnsErr),
		errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr),
		errors.As(err, &recErr), errors.As(err, &alertErr):
		return Wait, true
	case errors.As(err, &opErr):
		if opErr.Op == "dial" {
			return Wait, true
		}
		return Retry, true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Retry, true
	}
	return 0, false
}

// HTTPVerdict judges an HTTP answer that is not 2xx: 408, 425, 429 and 5xx
// are worth another try; any other 4xx means the request itself is wrong
// (a bad URL, token or payload) and trying again cannot help.
func HTTPVerdict(code int) Verdict {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		return Retry
	}
	return GiveUp
}

// HTTPSendVerdict judges one HTTP send: err is the transport's error (nil
// when an answer came), status the answer's code. A transport error that
// is not a network failure NetVerdict knows (a body cut short, say) is
// retried. The HTTP channels (ntfy, webhooks) classify through it.
func HTTPSendVerdict(err error, status int) Verdict {
	if err != nil {
		if v, ok := NetVerdict(err); ok {
			return v
		}
		return Retry
	}
	return HTTPVerdict(status)
}
