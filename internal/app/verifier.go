package app

import (
	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/verify"
)

// newVerifier builds the verifier the settings ask for: insecure
// registries, extra CAs, then whatever the Env adds (tests: a transport).
// Its error is an *inputs.Error about registry-ca.
func newVerifier(s inputs.Settings, env Env) (*verify.Verifier, error) {
	pool, err := inputs.ReadRegistryCA(s, env.Dir)
	if err != nil {
		return nil, err
	}
	opts := []verify.Option{verify.WithInsecureRegistries(s.InsecureRegistries), verify.WithTimeout(s.VerifyTimeout)}
	if pool != nil {
		opts = append(opts, verify.WithRootCAs(pool))
	}
	return verify.New(append(opts, env.VerifyOptions...)...), nil
}
