package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/inlinecache/action/internal/cachemeta"
	"github.com/inlinecache/action/internal/verify"
)

// hostile serves one manifest body for every manifest request, optionally
// without Content-Length (chunked), as a hostile registry might.
func hostile(t *testing.T, body string, chunked bool) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		if !chunked {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		for i := 0; i < len(body); i += 1 << 16 {
			_, _ = w.Write([]byte(body[i:min(len(body), i+1<<16)]))
			if chunked {
				w.(http.Flusher).Flush()
			}
		}
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func TestSizeLimits(t *testing.T) {
	big := `{"schemaVersion":2,"x":"` + strings.Repeat("a", cachemeta.MaxManifestBytes) + `"}`
	hugeConfig := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":` +
		fmt.Sprint(cachemeta.MaxConfigBytes+1) + `,"digest":"sha256:` + strings.Repeat("b", 64) + `"},"layers":[]}`
	for _, c := range []struct {
		name, body string
		chunked    bool
		says       string
	}{
		{"manifest with Content-Length", big, false, fmt.Sprintf("over the %d-byte limit", cachemeta.MaxManifestBytes)},
		{"manifest chunked", big, true, fmt.Sprintf("over the %d-byte limit", cachemeta.MaxManifestBytes)},
		{"config declared too big", hugeConfig, false, fmt.Sprintf("the image config is %d bytes, over the %d-byte limit", cachemeta.MaxConfigBytes+1, cachemeta.MaxConfigBytes)},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := hostile(t, c.body, c.chunked)
			v := verify.New(verify.WithKeychain(authn.NewMultiKeychain()))
			rep, err := v.Verify(context.Background(), reg+"/app:1")
			msg := fmt.Sprint(err) + strings.Join(rep.Failures(), "\n")
			t.Log(msg)
			if rep.Verified() || !strings.Contains(msg, c.says) {
				t.Errorf("got %q, want it to say %q", msg, c.says)
			}
		})
	}
}
