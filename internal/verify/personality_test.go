//go:build linux

package verify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/inlinecache/action/internal/faultproxy"
	"github.com/inlinecache/action/internal/registrytest"
	"github.com/inlinecache/action/internal/testenv"
	"github.com/inlinecache/action/internal/timings"
	"github.com/inlinecache/action/internal/verify"
)

// The hosted registries' personalities (faultproxy) in front of both
// distributions: what verification, tagging and step timings do there.

func personalityVerifier() *verify.Verifier {
	return verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTimeout(20*time.Second),
		verify.WithRetries(3, 100*time.Millisecond, 500*time.Millisecond, time.Second))
}

// eachDistribution runs f on both distributions, side by side.
func eachDistribution(t *testing.T, f func(t *testing.T, reg string)) {
	for _, d := range testenv.Distributions {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f(t, realRegistryOf(t, d))
		})
	}
}

func digestOf(ref string) string { return ref[strings.LastIndex(ref, "@")+1:] }

// headDirect resolves ref in the registry behind the proxy.
func headDirect(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// recordBeside pushes a step timings record beside subject and reads it back.
func recordBeside(t *testing.T, v *verify.Verifier, repo, subject string) (string, timings.Source) {
	t.Helper()
	ctx := context.Background()
	rec := timings.Record{Version: 1, Created: time.Now().UTC(), Steps: []timings.Step{{Name: "[2/2] RUN true", Seconds: 1.5}}}
	art, err := timings.Push(ctx, v, subject, rec)
	if err != nil {
		t.Fatalf("push the record beside %s: %v", subject, err)
	}
	return art, timings.Read(ctx, v, repo, subject)
}

// ECR: no Docker-Content-Digest on manifest answers, immutable tags,
// PutImage throttled, OCI-Subject without a referrers API.
func TestPersonalityECR(t *testing.T) {
	eachDistribution(t, func(t *testing.T, reg string) {
		old := registrytest.PushIndex(t, reg+"/ecr/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
		fresh := registrytest.PushIndex(t, reg+"/ecr/app:staging", registrytest.Image(t, "linux/amd64", 3, registrytest.Valid))
		p := faultproxy.Start(reg, false).As(faultproxy.ECR)
		defer p.Close()
		v := personalityVerifier()
		ctx := context.Background()

		rep, err := v.Verify(ctx, p.Host+"/ecr/app@"+digestOf(fresh))
		if err != nil || !rep.Verified() {
			t.Fatalf("not verified without Docker-Content-Digest: %v %v", err, rep.Failures())
		}
		if err := v.Exists(ctx, p.Host+"/ecr/app:main"); err != nil {
			t.Errorf("Exists without Docker-Content-Digest: %v", err)
		}
		// The tag lookup (HEAD) has no digest to go by: the body's.
		res, err := v.Tag(ctx, digestOf(old), []string{p.Host + "/ecr/app:main"})
		if err != nil || len(res) != 1 || res[0].Action != verify.TagUnchanged {
			t.Errorf("re-tagging main with its own digest = %+v, %v; want unchanged", res, err)
		}
		res, err = v.Tag(ctx, digestOf(fresh), []string{p.Host + "/ecr/app:v1"})
		if err != nil || len(res) != 1 || res[0].Action != verify.TagCreated {
			t.Errorf("a new tag = %+v, %v; want created", res, err)
		}

		// Immutable: main cannot move; the error says so in ECR's
		// words, calls the write a write, and gives the scheme that works.
		_, err = v.Tag(ctx, digestOf(fresh), []string{p.Host + "/ecr/app:main"})
		var ie *verify.ImmutableTagError
		if !errors.As(err, &ie) {
			t.Fatalf("moving an immutable tag: %v, want an ImmutableTagError", err)
		}
		msg := err.Error()
		for _, w := range []string{"writing manifest ecr/app:main", "400 Bad Request", "TAG_INVALID", "cannot be overwritten because the repository is immutable",
			"the image is pushed and verified under its digest", verify.ImmutableAdvice} {
			if !strings.Contains(msg, w) {
				t.Errorf("message lacks %q: %s", w, msg)
			}
		}
		if strings.Contains(msg, "reading manifest") {
			t.Errorf("the refused write is called a read: %s", msg)
		}
		if got := headDirect(t, reg+"/ecr/app:main"); got != digestOf(old) {
			t.Errorf("main moved to %s", got)
		}

		// Step timings: OCI-Subject in the answer, no referrers API: the
		// tag schema lists the record, and it is read back.
		art, src := recordBeside(t, v, p.Host+"/ecr/app", p.Host+"/ecr/app@"+digestOf(fresh))
		if src.Record == nil || src.Artifact != art {
			t.Errorf("the record %s was not read back: %+v", art, src)
		}
		// A second record must move the tag schema's tag: refused as
		// immutable, in the registry's words.
		_, err = timings.Push(ctx, v, p.Host+"/ecr/app@"+digestOf(fresh), timings.Record{Version: 1, Created: time.Now().UTC()})
		if err == nil || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("a second record on an immutable repository: %v, want the registry's refusal", err)
		}

		// PutImage throttled: the tag's PUT is answered 429 and retried.
		slow := faultproxy.Start(reg, false)
		slow.PutRate, slow.PutBurst = 5, 1
		slow.As(faultproxy.ECR)
		defer slow.Close()
		patient := verify.New(verify.WithKeychain(authn.NewMultiKeychain()), verify.WithTimeout(20*time.Second),
			verify.WithRetries(6, 100*time.Millisecond, 500*time.Millisecond, time.Second))
		if _, err := patient.Tag(ctx, digestOf(fresh), []string{slow.Host + "/ecr/app:v2"}); err != nil {
			t.Fatal(err) // the one PUT the burst allows
		}
		res, err = patient.Tag(ctx, digestOf(fresh), []string{slow.Host + "/ecr/app:v3"})
		if err != nil || len(res) != 1 || res[0].Action != verify.TagCreated {
			t.Errorf("tagging through throttling = %+v, %v; want created", res, err)
		}
		if slow.Throttled() == 0 {
			t.Error("no PUT was throttled: the retry was not exercised")
		}
	})
}

// GitLab: the tag sha256-<hex> is the image itself. Step timings are
// listed under the alias tag and found; the rebuild's reason is never
// the false "no step timings refer to".
func TestPersonalityGitLab(t *testing.T) {
	eachDistribution(t, func(t *testing.T, reg string) {
		p := faultproxy.Start(reg, false).As(faultproxy.GitLab)
		defer p.Close()
		v := personalityVerifier()
		// An image without records: the note says why none can be read
		// rather than that none refer to it.
		bare := registrytest.Push(t, reg+"/gitlab/app:bare", registrytest.Image(t, "linux/amd64", 1, registrytest.Valid))
		if src := timings.Read(context.Background(), v, p.Host+"/gitlab/app", p.Host+"/gitlab/app@"+digestOf(bare)); src.Record != nil ||
			!strings.Contains(src.Note, "answers the referrers tag sha256-") || !strings.Contains(src.Note, "none is listed there") {
			t.Errorf("no records on GitLab: note %q", src.Note)
		}
		for what, ref := range map[string]string{
			"index": registrytest.PushIndex(t, reg+"/gitlab/app:multi", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)),
			"image": registrytest.Push(t, reg+"/gitlab/app:single", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)),
		} {
			d := digestOf(ref)
			if got := headDirect(t, p.Host+"/gitlab/app:"+strings.Replace(d, ":", "-", 1)); got != d {
				t.Fatalf("%s: the proxy does not alias the tag schema's tag (%q)", what, got)
			}
			art, src := recordBeside(t, v, p.Host+"/gitlab/app", p.Host+"/gitlab/app@"+d)
			if src.Record == nil || src.Artifact != art {
				t.Errorf("%s: the record %s was not found: %s", what, art, src.Note)
			}
			if got := headDirect(t, reg+"/gitlab/app:"+strings.Replace(d, ":", "-", 1)+".referrers"); got == "" {
				t.Errorf("%s: no alias index", what)
			}
		}
	})
}

// Quay: a manifest pushed by digest alone expires. Inside the window it
// verifies and is tagged; past it, verification fails naming the
// manifest and the registry's answer, and no tag is set.
func TestPersonalityQuay(t *testing.T) {
	eachDistribution(t, func(t *testing.T, reg string) {
		v := personalityVerifier()
		ctx := context.Background()
		for _, expired := range []bool{false, true} {
			p := faultproxy.Start(reg, false)
			if expired {
				p.Expiry = 0
			}
			p.As(faultproxy.Quay)
			defer p.Close()
			repo := p.Host + "/quay/app"
			img := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
			dg, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			ref, err := name.NewDigest(repo + "@" + dg.String())
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			rep, err := v.Verify(ctx, ref.String())
			if expired {
				if err == nil && rep.Verified() {
					t.Fatal("verified a manifest past its expiry")
				}
				msg := err.Error()
				for _, w := range []string{p.Host, "quay/app@" + dg.String(), "404 Not Found", "MANIFEST_UNKNOWN"} {
					if !strings.Contains(msg, w) {
						t.Errorf("message lacks %q: %s", w, msg)
					}
				}
				continue
			}
			if err != nil || !rep.Verified() {
				t.Fatalf("not verified within the expiry: %v %v", err, rep.Failures())
			}
			if _, err := v.Tag(ctx, dg.String(), []string{repo + ":main"}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// GHCR and Docker Hub: no referrers API, even in front of a registry that
// has one (go-containerregistry's, referrers on): step timings go by the
// tag schema.
func TestPersonalityNoReferrersAPI(t *testing.T) {
	reg := registrytest.ServeHandler(t, nil, registry.WithReferrersSupport(true))
	for _, pers := range []faultproxy.Personality{faultproxy.GHCR, faultproxy.DockerHub} {
		t.Run(string(pers), func(t *testing.T) {
			p := faultproxy.Start(reg, false).As(pers)
			defer p.Close()
			ref := registrytest.PushIndex(t, reg+"/"+string(pers)+"/app:main", registrytest.Image(t, "linux/amd64", 2, registrytest.Valid))
			d := digestOf(ref)
			art, src := recordBeside(t, personalityVerifier(), p.Host+"/"+string(pers)+"/app", p.Host+"/"+string(pers)+"/app@"+d)
			if src.Record == nil || src.Artifact != art {
				t.Errorf("the record %s was not found: %s", art, src.Note)
			}
			if got := headDirect(t, reg+"/"+string(pers)+"/app:"+strings.Replace(d, ":", "-", 1)); got == "" {
				t.Error("the record is not listed in the tag schema")
			}
		})
	}
}

// Docker Hub answers a cross-repository mount without pull scope on the
// source with a plain upload session (202), where distribution mounts
// (201).
func TestPersonalityDockerHubMount(t *testing.T) {
	eachDistribution(t, func(t *testing.T, reg string) {
		img := registrytest.Image(t, "linux/amd64", 2, registrytest.Valid)
		registrytest.Push(t, reg+"/hub/app:main", img)
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		blob, err := layers[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		for pers, want := range map[faultproxy.Personality]int{faultproxy.Plain: http.StatusCreated, faultproxy.DockerHub: http.StatusAccepted} {
			p := faultproxy.Start(reg, false).As(pers)
			defer p.Close()
			resp, err := http.Post("http://"+p.Host+"/v2/hub/other/blobs/uploads/?mount="+blob.String()+"&from=hub/app", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%q: a cross-repository mount: %s, want %d", pers, resp.Status, want)
			}
		}
	})
}
