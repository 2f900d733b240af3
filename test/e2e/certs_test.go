package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ws-defaults/ws-defaults/test/framework"
)

// writeServingCert writes a self-signed serving certificate for 127.0.0.1
// with the given serial into dir as tls.crt/tls.key (atomically, as the
// kubelet updates a mounted Secret).
func writeServingCert(t *testing.T, dir string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "ws-defaults"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"tls.crt": {Type: "CERTIFICATE", Bytes: der},
		"tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// servedSerial connects to addr and returns the serial of the certificate
// the server presents, and the TLS version it agreed to.
func servedSerial(addr string, maxVersion uint16) (int64, error) {
	// MinVersion is explicit so that a TLS 1.1 attempt is really offered
	// (Go clients default to a TLS 1.2 floor).
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: maxVersion}) // #nosec G402 -- the test reads the certificate, it trusts nothing
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

// TestServingCertificate starts a second webhook on its own certificate
// folder and shows that it serves TLS 1.2+ only and picks up a renewed
// certificate without a restart.
func TestServingCertificate(t *testing.T) {
	dir := t.TempDir()
	writeServingCert(t, dir, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	second := *cluster
	second.CertDir, second.Port = dir, port
	w, err := framework.StartWebhook(context.Background(), binary, &second, &logs)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	if serial, err := servedSerial(addr, 0); err != nil || serial != 1 {
		t.Fatalf("serial = %d, %v; want 1", serial, err)
	}
	if _, err := servedSerial(addr, tls.VersionTLS11); err == nil {
		t.Error("a TLS 1.1 handshake succeeded; the floor is TLS 1.2")
	}

	writeServingCert(t, dir, 2)
	deadline := time.Now().Add(20 * time.Second)
	for {
		serial, err := servedSerial(addr, 0)
		if err == nil && serial == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("renewed certificate not served after 20s: serial %d, %v", serial, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
