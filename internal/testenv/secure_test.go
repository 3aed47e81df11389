//go:build linux

package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
)

// The certificates the secured registry serves must verify for 127.0.0.1
// against their CA, and only against it, so the e2e TLS tests mean what
// they say.
func TestIssueServer(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServer(net.IPv4(127, 0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("certificate and key do not match: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: ca.Pool(), DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		t.Errorf("does not verify for 127.0.0.1: %v", err)
	}
	opts.DNSName = "127.0.0.2"
	if _, err := leaf.Verify(opts); err == nil {
		t.Error("verifies for another address")
	}
	other, err := NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	opts.DNSName, opts.Roots = "127.0.0.1", other.Pool()
	if _, err := leaf.Verify(opts); err == nil {
		t.Error("verifies against another CA")
	}
}
