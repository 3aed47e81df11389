package app

import (
	"github.com/inlinecache/action/internal/verify"
)

// newVerifier builds the verifier the settings ask for: insecure
// registries, extra CAs, then whatever the Env adds (tests: a transport).
func newVerifier(s settings, env Env) *verify.Verifier {
	opts := []verify.Option{verify.WithInsecureRegistries(s.InsecureRegistries), verify.WithTimeout(s.VerifyTimeout)}
	if s.CA != nil {
		opts = append(opts, verify.WithRootCAs(s.CA))
	}
	return verify.New(append(opts, env.VerifyOptions...)...)
}
