package escalation

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// The two failure shapes every network channel shares, judged once here:
// e-mail's Classify builds on them, and ntfy and the webhooks send through
// SendHTTP.

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
// retried. SendHTTP, which ntfy and the webhooks send through, uses it.
func HTTPSendVerdict(err error, status int) Verdict {
	if err != nil {
		if v, ok := NetVerdict(err); ok {
			return v
		}
		return Retry
	}
	return HTTPVerdict(status)
}

// SendHTTP sends req with client and judges the outcome: nil for a 2xx
// answer (its body read and dropped, so the connection is reused), else a
// DeliveryError with HTTPSendVerdict's verdict and the start of the
// answer's body. what names the channel in the error ("ntfy", "webhook
// line-chat").
func SendHTTP(client *http.Client, req *http.Request, what string) error {
	resp, err := client.Do(req)
	if err != nil {
		return &DeliveryError{Verdict: HTTPSendVerdict(err, 0), Err: fmt.Errorf("%s: %w", what, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return &DeliveryError{Verdict: HTTPSendVerdict(nil, resp.StatusCode),
		Err: fmt.Errorf("%s: %s: %s", what, resp.Status, strings.TrimSpace(string(msg)))}
}
