package inputs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func selfSigned(t *testing.T, cn string) (*x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestReadRegistryCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ca1, pem1 := selfSigned(t, "ca one")
	ca2, pem2 := selfSigned(t, "ca two")
	// A key block before the certificate, as in a combined file.
	write("both.pem", append(append([]byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), pem1...), pem2...))
	write("junk.pem", []byte("hello\n"))
	write("key-only.pem", []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	write("broken.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}))

	if pool, err := ReadRegistryCA(Settings{}, OSDisk(dir)); pool != nil || err != nil {
		t.Errorf("no registry-ca: pool %v err %v, want nil, nil (system roots)", pool, err)
	}

	// Relative to dir, as the workflow's working directory.
	pool, err := ReadRegistryCA(Settings{RegistryCA: []string{"both.pem"}}, OSDisk(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*x509.Certificate{ca1, ca2} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
			t.Errorf("%s not trusted: %v", c.Subject.CommonName, err)
		}
	}
	other, _ := selfSigned(t, "not listed")
	if _, err := other.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
		t.Error("a CA that was not given is trusted")
	}

	for _, tt := range []struct{ file, want string }{
		{"junk.pem", `CA file "junk.pem" holds no PEM certificate`},
		{"key-only.pem", `CA file "key-only.pem" holds no PEM certificate`},
		{"broken.pem", `CA file "broken.pem": certificate 1: x509:`},
		{"missing.pem", `cannot read CA file "missing.pem": no such file or directory`},
	} {
		_, err := ReadRegistryCA(Settings{RegistryCA: []string{"both.pem", tt.file}}, OSDisk(dir))
		var ie *Error
		if !errors.As(err, &ie) || ie.Input != RegistryCA || !strings.Contains(ie.Msg, tt.want) {
			t.Errorf("%s: err = %v, want input %q: %q", tt.file, err, RegistryCA, tt.want)
		}
	}
}

func TestRegistryCAFlagsAndInput(t *testing.T) {
	t.Parallel()
	s, _, err := read(t, map[string]string{"registry-ca": "a.pem\nb.pem\n"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.RegistryCA, "|") != "a.pem|b.pem" {
		t.Errorf("from INPUT_REGISTRY-CA: %q", s.RegistryCA)
	}
	s, _, err = read(t, map[string]string{"registry-ca": "ignored.pem"}, "--registry-ca", "c.pem", "--registry-ca", "d,e.pem")
	if err != nil {
		t.Fatal(err)
	}
	// A flag wins; one path per flag, commas are part of the name.
	if strings.Join(s.RegistryCA, "|") != "c.pem|d,e.pem" {
		t.Errorf("from flags: %q", s.RegistryCA)
	}
}
