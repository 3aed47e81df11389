package inputs

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// ReadRegistryCA reads the registry-ca files from d into
// a pool of the system roots plus their certificates. It returns nil when
// none are given, so the system roots are used as they are. A file that
// cannot be read or holds no certificate is an *Error, reported before
// anything runs.
func ReadRegistryCA(s Settings, d Disk) (*x509.CertPool, error) {
	if len(s.RegistryCA) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		// No system roots (rare on Linux): the listed CAs alone.
		pool = x509.NewCertPool()
	}
	for _, f := range s.RegistryCA {
		b, err := d.ReadFile(f)
		if err != nil {
			return nil, &Error{Input: RegistryCA, Msg: fmt.Sprintf("cannot read CA file %q: %v", f, unwrapPath(err))}
		}
		n := 0
		for rest := b; ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, &Error{Input: RegistryCA, Msg: fmt.Sprintf("CA file %q: certificate %d: %v", f, n+1, err)}
			}
			pool.AddCert(cert)
			n++
		}
		if n == 0 {
			return nil, &Error{Input: RegistryCA, Msg: fmt.Sprintf("CA file %q holds no PEM certificate (-----BEGIN CERTIFICATE-----)", f)}
		}
	}
	return pool, nil
}
