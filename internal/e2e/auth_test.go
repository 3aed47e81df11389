//go:build linux

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/e2e/harness"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/testenv"
)

// secureBuilder is the buildx builder whose buildkitd trusts the secured
// registry's CA.
const secureBuilder = "inline-cache-secure"

// TestSecuredRegistry pushes to and verifies from a registry that wants
// htpasswd credentials and serves TLS with a certificate from a CA the test
// makes, the way a private registry does. Credentials come from docker
// configs written with docker's own config package: a plain auths entry,
// a credential helper (credsStore and credHelpers), a wrong password, none.
func TestSecuredRegistry(t *testing.T) {
	ctx := context.Background()
	password, wrong := secret(t), secret(t)
	reg, err := harness.Env.StartSecureRegistry(ctx, "secure-registry", "ci-user", password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := reg.Close(); err != nil {
			t.Errorf("stop the secured registry: %v", err)
		}
	})
	if err := harness.Env.StartSecureBuilder(ctx, secureBuilder, reg); err != nil {
		t.Fatal(err)
	}

	helperBin := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(helperBin, 0o755); err != nil {
		t.Fatal(err)
	}
	helperLog, err := testenv.BuildCredentialHelper(ctx, helperBin, "inlinecache-test",
		map[string]testenv.Credential{reg.Addr: {Username: reg.User, Secret: password}})
	if err != nil {
		t.Fatal(err)
	}
	auths := dockerConfig(t, func(cf *configfile.ConfigFile) {
		cf.AuthConfigs[reg.Addr] = types.AuthConfig{Username: reg.User, Password: password}
	})
	credsStore := dockerConfig(t, func(cf *configfile.ConfigFile) { cf.CredentialsStore = "inlinecache-test" })
	credHelpers := dockerConfig(t, func(cf *configfile.ConfigFile) {
		cf.CredentialHelpers = map[string]string{reg.Addr: "inlinecache-test"}
	})
	wrongPassword := dockerConfig(t, func(cf *configfile.ConfigFile) {
		cf.AuthConfigs[reg.Addr] = types.AuthConfig{Username: reg.User, Password: wrong}
	})
	noCredentials := dockerConfig(t, func(*configfile.ConfigFile) {})
	missingHelper := dockerConfig(t, func(cf *configfile.ConfigFile) { cf.CredentialsStore = "no-such-helper" })

	var runs []run
	// with runs the binary with the docker config dockerCfg and the
	// secured builder; PATH leads with the credential helper.
	with := func(t *testing.T, dockerCfg string, args ...string) run {
		t.Helper()
		r := runBinary(t, secureEnv(dockerCfg, helperBin), args...)
		runs = append(runs, r)
		return r
	}

	tag := reg.Addr + "/e2e/auth:main"
	var ref string
	t.Run("build pushes with auths credentials and verifies", func(t *testing.T) {
		in := map[string]string{"context": project(t, "app"), "tags": tag, "push": "true", "registry-ca": reg.CAFile}
		r := actionEnv(t, secureEnv(auths, helperBin), in)
		runs = append(runs, r)
		checkVerified(t, r)
		ref = reg.Addr + "/e2e/auth@" + r.Outputs["digest"]
	})
	if ref == "" {
		t.Fatal("nothing was pushed to the secured registry")
	}
	t.Run("build without credentials cannot push", func(t *testing.T) {
		// The control: the registry really wants the credentials.
		in := map[string]string{"context": project(t, "app"), "tags": tag, "push": "true", "registry-ca": reg.CAFile}
		r := actionEnv(t, secureEnv(noCredentials, helperBin), in)
		runs = append(runs, r)
		if r.Code != 1 || !strings.Contains(r.Log, "401 Unauthorized") {
			t.Errorf("exit %d, want 1 with the registry's 401", r.Code)
		}
	})
	t.Run("build pushes but cannot verify without the CA", func(t *testing.T) {
		// The builder trusts the CA (buildkitd.toml); the verifier is not
		// told: the push succeeds, verification says why it cannot read.
		// A changed build makes a new image, and a second tag that does
		// not exist yet: tag-after-verify must leave :main on the verified
		// image and create nothing.
		never := reg.Addr + "/e2e/auth:never"
		in := map[string]string{"context": project(t, "app"), "tags": tag + "\n" + never, "push": "true", "build-args": "GREETING=unverifiable"}
		r := actionEnv(t, secureEnv(auths, helperBin), in)
		runs = append(runs, r)
		if r.Code != 1 || r.Outputs["cache-verified"] != "false" || !strings.HasPrefix(r.Outputs["digest"], "sha256:") {
			t.Errorf("exit %d, cache-verified %q, digest %q; want a push that is not verified", r.Code, r.Outputs["cache-verified"], r.Outputs["digest"])
		}
		opts := secureRemote(t, reg.CAFile, reg.User, password)
		verified := ref[strings.Index(ref, "@")+1:]
		if got := registrytest.Head(t, tag, opts...); got != verified || got == r.Outputs["digest"] {
			t.Errorf("%s → %s after a failed verification, want it left on the verified %s", tag, got, verified)
		}
		if got := registrytest.Head(t, never, opts...); got != "" {
			t.Errorf("%s was created (→ %s) after a failed verification", never, got)
		}
		if got := registrytest.Head(t, reg.Addr+"/e2e/auth@"+r.Outputs["digest"], opts...); got != r.Outputs["digest"] {
			t.Errorf("the unverified image is not in the registry by digest: %q", got)
		}
		if !strings.Contains(r.Log, "tags: left where they were (verification did not pass): "+tag+", "+never) {
			t.Errorf("the log does not say the tags were left where they were")
		}
		if !strings.Contains(r.Log, "::error title=Inline cache not verified::inline cache not verified: fetch "+reg.Addr) ||
			!strings.Contains(r.Log, "TLS certificate not trusted") || !strings.Contains(r.Log, "registry-ca") {
			t.Errorf("the error does not say the certificate is not trusted and how to fix it")
		}
	})
	t.Run("cache source behind wrong credentials", func(t *testing.T) {
		// The image goes to the open registry; its cache source is the
		// secured one's, with a password the registry refuses: named as
		// verify names it, and the build goes on without it.
		in := map[string]string{"context": project(t, "app"), "tags": repo(t) + ":main", "push": "true",
			"registry-ca": reg.CAFile, "cache-from": "type=registry,ref=" + tag}
		r := actionEnv(t, secureEnv(wrongPassword, helperBin), in)
		runs = append(runs, r)
		checkVerified(t, r)
		want := "::warning::cache source " + tag + ": cannot be read, so the build imports nothing from it: registry " + reg.Addr + ": authentication failed (401 Unauthorized)"
		if !strings.Contains(r.Log, want) {
			t.Errorf("log lacks %q", want)
		}
		for _, s := range parseReport(t, r).Sources {
			if s.Ref == tag && s.State != "denied" {
				t.Errorf("source %s: state %q, want denied", tag, s.State)
			}
		}
	})
	t.Run("build through a credential helper", func(t *testing.T) {
		before := helperFound(t, helperLog, reg.Addr)
		in := map[string]string{"context": project(t, "app"), "tags": tag, "push": "true", "registry-ca": reg.CAFile}
		r := actionEnv(t, secureEnv(credHelpers, helperBin), in)
		runs = append(runs, r)
		checkVerified(t, r)
		// buildx (for BuildKit's push and cache import) and the
		// verifier each asked the helper.
		after := helperFound(t, helperLog, reg.Addr)
		t.Logf("credential helper answered, by caller: before %v, after %v", before, after)
		buildx := after["docker-buildx"] + after["buildx"] - before["docker-buildx"] - before["buildx"]
		if buildx < 1 || after["inline-cache"] <= before["inline-cache"] {
			t.Errorf("want buildx and the verifier (inline-cache) to have asked the helper")
		}
	})

	verified := func(t *testing.T, r run) {
		t.Helper()
		// The wording of the verdict belongs to the verify command;
		// what counts here is that it passed and said so.
		if r.Code != 0 || !strings.Contains(r.Log, "VERIFIED") || strings.Contains(r.Log, "NOT VERIFIED") {
			t.Errorf("exit %d, want 0 and VERIFIED", r.Code)
		}
	}
	refused := func(t *testing.T, r run, want ...string) {
		t.Helper()
		if r.Code != 1 {
			t.Errorf("exit %d, want 1", r.Code)
		}
		for _, w := range want {
			if !strings.Contains(r.Log, w) {
				t.Errorf("output lacks %q", w)
			}
		}
	}

	t.Run("verify with auths entry", func(t *testing.T) {
		verified(t, with(t, auths, "verify", "--registry-ca", reg.CAFile, ref))
	})
	t.Run("verify with credsStore helper", func(t *testing.T) {
		before := helperFound(t, helperLog, reg.Addr)["inline-cache"]
		verified(t, with(t, credsStore, "verify", "--registry-ca", reg.CAFile, ref))
		if helperFound(t, helperLog, reg.Addr)["inline-cache"] != before+1 {
			t.Error("the credential helper did not give inline-cache the credentials")
		}
	})
	t.Run("verify with credHelpers helper", func(t *testing.T) {
		before := helperFound(t, helperLog, reg.Addr)["inline-cache"]
		verified(t, with(t, credHelpers, "verify", "--registry-ca", reg.CAFile, ref))
		if helperFound(t, helperLog, reg.Addr)["inline-cache"] != before+1 {
			t.Error("the credential helper did not give inline-cache the credentials")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		r := with(t, wrongPassword, "verify", "--registry-ca", reg.CAFile, ref)
		refused(t, r, "registry "+reg.Addr+": authentication failed (401 Unauthorized)", `user "ci-user"`,
			"the docker config "+filepath.Join(wrongPassword, "config.json"))
		j := with(t, wrongPassword, "verify", "--json", "--registry-ca", reg.CAFile, ref)
		refused(t, j, `"verified": `, "authentication failed (401 Unauthorized)")
	})
	t.Run("no credentials", func(t *testing.T) {
		refused(t, with(t, noCredentials, "verify", "--registry-ca", reg.CAFile, ref),
			"registry "+reg.Addr+": authentication required (401 Unauthorized)", "has no credentials for it", "docker login "+reg.Addr)
	})
	t.Run("credential helper missing", func(t *testing.T) {
		refused(t, with(t, missingHelper, "verify", "--registry-ca", reg.CAFile, ref),
			"registry "+reg.Addr+": cannot get credentials from credential helper docker-credential-no-such-helper")
	})

	tlsRefused := []string{"registry " + reg.Addr + ": TLS certificate not trusted (x509: certificate signed by unknown authority",
		"give its certificate in registry-ca", "list " + reg.Addr + " in insecure-registries"}
	t.Run("untrusted certificate is refused", func(t *testing.T) {
		refused(t, with(t, auths, "verify", ref), tlsRefused...)
	})
	t.Run("another CA does not make it trusted", func(t *testing.T) {
		other, err := testenv.NewCA("some other CA")
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "other-ca.pem")
		if err := os.WriteFile(f, other.PEM, 0o600); err != nil {
			t.Fatal(err)
		}
		refused(t, with(t, auths, "verify", "--registry-ca", f, ref), tlsRefused...)
	})
	t.Run("listing another registry as insecure changes nothing", func(t *testing.T) {
		// Nothing is sent to the listed name: only reg is looked up.
		refused(t, with(t, auths, "verify", "--insecure-registries", "registry.invalid:5000", ref), tlsRefused...)
	})
	t.Run("insecure-registries skips TLS verification for that registry", func(t *testing.T) {
		verified(t, with(t, auths, "verify", "--insecure-registries", reg.Addr, ref))
	})
	t.Run("unusable registry-ca is bad input", func(t *testing.T) {
		junk := filepath.Join(t.TempDir(), "junk.pem")
		if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{junk, filepath.Join(t.TempDir(), "missing.pem")} {
			r := with(t, auths, "verify", "--registry-ca", f, ref)
			if r.Code != 2 || !strings.Contains(r.Log, `error: input "registry-ca"`) || !strings.Contains(r.Log, f) {
				t.Errorf("%s: exit %d, want 2 naming registry-ca and the file", f, r.Code)
			}
		}
	})

	// The secrets appear nowhere: not in the log, the outputs or the
	// job summary, neither plain nor as the base64 auth docker stores.
	if len(runs) < 17 {
		t.Fatalf("only %d runs recorded", len(runs))
	}
	for _, s := range []string{password, wrong,
		base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + password)),
		base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + wrong))} {
		for i, r := range runs {
			all := r.Log + r.Summary
			for k, v := range r.Outputs {
				all += k + v
			}
			if strings.Contains(all, s) {
				t.Errorf("run %d printed a secret", i)
			}
		}
	}
}

// secret is a random password that cannot occur in any output by chance.
func secret(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "pw-" + hex.EncodeToString(b)
}

// dockerConfig writes a DOCKER_CONFIG with docker's own config package and
// the buildx plugin (for "docker buildx").
func dockerConfig(t *testing.T, edit func(*configfile.ConfigFile)) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(harness.Env.Tools.Buildx, filepath.Join(dir, "cli-plugins", "docker-buildx")); err != nil {
		t.Fatal(err)
	}
	cf := configfile.New(filepath.Join(dir, "config.json"))
	edit(cf)
	if err := cf.Save(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// secureEnv points a run at the docker config dockerCfg, the builders in
// the environment's buildx state, the secured builder, and puts bin first
// on PATH.
func secureEnv(dockerCfg, bin string) []string {
	return []string{
		"DOCKER_CONFIG=" + dockerCfg,
		"BUILDX_CONFIG=" + harness.Env.BuildxConfig(),
		"BUILDX_BUILDER=" + secureBuilder,
		"PATH=" + bin + string(os.PathListSeparator) + harness.Env.BinDir + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
}

// helperFound counts, by calling program, the requests for host the
// credential helper answered with credentials.
func helperFound(t *testing.T, log, host string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, l := range strings.Split(string(b), "\n") {
		// "<caller>: get <server>: found"
		caller, rest, ok := strings.Cut(l, ": get ")
		if ok && strings.HasSuffix(rest, ": found") && strings.HasPrefix(rest, host) {
			n[caller]++
		}
	}
	return n
}

// secureRemote reaches the secured registry: its CA trusted, basic auth.
func secureRemote(t *testing.T, caFile, user, password string) []remote.Option {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return []remote.Option{remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: user, Password: password})}
}
