package mqttapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTestPKI writes a CA and a server certificate for 127.0.0.1 into dir
// and returns the CA pool a client trusts.
func writeTestPKI(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tocsin test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":   {Type: "CERTIFICATE", Bytes: caDER},
		"cert.pem": {Type: "CERTIFICATE", Bytes: srvDER},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool
}

// TestMosquittoTLS connects over TLS (ssl://) to a mosquitto listener with
// a certificate from a test CA; a client not trusting the CA is refused.
func TestMosquittoTLS(t *testing.T) {
	dir := brokerReadableDir(t)
	pool := writeTestPKI(t, dir)
	broker := startMosquitto(t, "certfile "+filepath.Join(dir, "cert.pem")+"\nkeyfile "+filepath.Join(dir, "key.pem")+"\n")
	eng, _ := newEngine(t)

	cfg := testConfig(broker.addr, "tocsin-tls")
	cfg.Broker = "ssl://" + broker.addr
	cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c := New(cfg, eng, testLogger(t))
	runClient(t, c)
	waitStatus(t, c, "connected over TLS", func(st Status) bool { return st.Connected })

	cfg.ClientID = "tocsin-tls-untrusting"
	cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12} // system roots only
	untrusting := New(cfg, eng, testLogger(t))
	runClient(t, untrusting)
	waitStatus(t, untrusting, "a certificate error", func(st Status) bool { return st.LastError != "" })
	if st := untrusting.Status(); st.Connected || !strings.Contains(st.LastError, "certificate") {
		t.Errorf("a client not trusting the CA: %+v", st)
	}
}
