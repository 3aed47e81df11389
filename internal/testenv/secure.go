//go:build linux

package testenv

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// CA is a certificate authority made up for one test run.
type CA struct {
	Cert *x509.Certificate
	key  crypto.Signer
	// PEM is the CA certificate, as a registry-ca file or buildkitd's
	// "ca" list expects it.
	PEM []byte
}

// NewCA makes a self-signed CA named commonName.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Pool is a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// IssueServer signs a server certificate for the given IP addresses and
// returns it and its key, PEM encoded.
func (ca *CA) IssueServer(ips ...net.IP) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "inline-cache test registry"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// SecureRegistry is a docker-registry that serves TLS with a certificate
// from a CA of the test's own and wants htpasswd credentials for
// everything, as a private registry does.
type SecureRegistry struct {
	// Addr is host:port on loopback.
	Addr string
	CA   *CA
	// CAFile holds CA.PEM.
	CAFile   string
	User     string
	Password string
	// Dir holds the registry's files.
	Dir  string
	proc *proc
}

// StartSecureRegistry starts a registry that accepts user with password
// (stored bcrypt-hashed, the only hash distribution's htpasswd reads) over
// TLS only. Close stops it; Env.Close does too.
func (e *Env) StartSecureRegistry(ctx context.Context, name, user, password string) (_ *SecureRegistry, err error) {
	dir := filepath.Join(e.Dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := NewCA("inline-cache test CA " + name)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.IssueServer(net.IPv4(127, 0, 0, 1))
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	r := &SecureRegistry{CA: ca, CAFile: filepath.Join(dir, "ca.pem"), User: user, Password: password, Dir: dir}
	files := map[string][]byte{
		"ca.pem":     ca.PEM,
		"server.pem": certPEM,
		"server.key": keyPEM,
		"htpasswd":   fmt.Appendf(nil, "%s:%s\n", user, hash),
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			return nil, err
		}
	}

	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}},
	}
	defer client.CloseIdleConnections()
	// Indented to sit under the http: key of the common config.
	extra := fmt.Sprintf(`  tls:
    certificate: %[1]s/server.pem
    key: %[1]s/server.key
auth:
  htpasswd:
    realm: inline-cache-test
    path: %[1]s/htpasswd
`, dir)
	// Ready when it answers /v2/ over verified TLS with a challenge.
	addr, p, err := e.serveRegistry(ctx, e.Tools.Registry, name, dir, extra, func(addr string) error {
		resp, err := client.Get("https://" + addr + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("GET /v2/ without credentials: %s, want 401", resp.Status)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.Addr, r.proc = addr, p
	return r, nil
}

// Close stops the registry.
func (r *SecureRegistry) Close() error {
	if r.proc == nil {
		return errors.New("registry not started")
	}
	return r.proc.stop()
}

// SecureRegistryTOML is the buildkitd.toml section that makes a daemon
// trust the registry's CA. "http = false" is needed: BuildKit speaks plain
// HTTP to loopback registries unless told otherwise.
func (r *SecureRegistry) SecureRegistryTOML() string {
	return fmt.Sprintf("[registry.%q]\n  http = false\n  ca = [%q]\n", r.Addr, r.CAFile)
}

// StartSecureBuilder starts a buildkitd that trusts r's CA and creates a
// buildx builder named name (remote driver) for it, stored in the buildx
// state under the environment's DOCKER_CONFIG. Runs with another
// DOCKER_CONFIG (other credentials) find it through BUILDX_CONFIG=BuildxConfig().
func (e *Env) StartSecureBuilder(ctx context.Context, name string, r *SecureRegistry) error {
	// The environment's registry stays its docker.io mirror, as for every
	// test builder.
	sock, err := e.StartBuildkitd(ctx, name, e.RegistryTOML()+r.SecureRegistryTOML())
	if err != nil {
		return err
	}
	if out, err := e.Buildx(ctx, "create", "--name", name, "--driver", "remote", "unix://"+sock); err != nil {
		return fmt.Errorf("buildx create %s: %w\n%s", name, err, out)
	}
	if out, err := e.Buildx(ctx, "inspect", "--bootstrap", name); err != nil {
		return fmt.Errorf("buildx inspect --bootstrap %s: %w\n%s", name, err, out)
	}
	return nil
}

// BuildxConfig is where buildx keeps the environment's builders.
func (e *Env) BuildxConfig() string { return filepath.Join(e.DockerConfig, "buildx") }

// Credential is what a credential helper hands out for one registry.
type Credential struct{ Username, Secret string }

// BuildCredentialHelper builds the test credential helper (./credhelper)
// as dir/docker-credential-<name>, handing out creds (by host:port). Put
// dir on PATH: docker's credential client runs the helper from there. The
// helper logs each request to the returned file.
func BuildCredentialHelper(ctx context.Context, dir, name string, creds map[string]Credential) (logFile string, err error) {
	exe := filepath.Join(dir, "docker-credential-"+name)
	if out, err := runOut(ctx, os.Environ(), "", "go", "build", "-o", exe, "github.com/inlinecache/action/internal/testenv/credhelper"); err != nil {
		return "", fmt.Errorf("build credential helper: %w\n%s", err, out)
	}
	b, err := json.Marshal(creds)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(exe+".json", b, 0o600); err != nil {
		return "", err
	}
	return exe + ".log", nil
}
