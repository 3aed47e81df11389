package timings

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Registry is the registry I/O records need (verify.Verifier has it).
// Subjects are named repository@digest.
type Registry interface {
	// PushReferrer looks subject up, has build make the artifact for its
	// descriptor, and pushes the artifact's blobs and manifest (by
	// digest) into subject's repository, where it is listed as a
	// referrer of subject. It returns the artifact's digest.
	PushReferrer(ctx context.Context, subject string, build func(subject v1.Descriptor) (manifest []byte, blobs [][]byte, err error)) (string, error)
	// Referrers lists the manifests of artifactType that refer to
	// subject.
	Referrers(ctx context.Context, subject, artifactType string) ([]v1.Descriptor, error)
	// ReadReferrer reads the manifest d in subject's repository and the
	// blob that layer picks from it, of at most max bytes.
	ReadReferrer(ctx context.Context, subject string, d v1.Descriptor, layer func(manifest []byte) (v1.Descriptor, error), max int64) ([]byte, error)
}

// Push records r beside subject, the pushed image (repository@digest),
// and returns the artifact's digest.
func Push(ctx context.Context, reg Registry, subject string, r Record) (string, error) {
	return reg.PushReferrer(ctx, subject, func(d v1.Descriptor) ([]byte, [][]byte, error) {
		a, err := r.Artifact(d)
		return a.Manifest, a.Blobs, err
	})
}

// Read finds the newest record beside subject, the image (repository@digest)
// cache source ref resolved to. A source without one says why in its Note.
func Read(ctx context.Context, reg Registry, ref, subject string) Source {
	_, image, _ := strings.Cut(subject, "@")
	src := Source{Ref: ref, Image: image}
	refs, err := reg.Referrers(ctx, subject, ArtifactType)
	if err != nil {
		src.Note = fmt.Sprintf("its step timings could not be listed: %v", err)
		return src
	}
	d, ok := Newest(refs)
	if !ok {
		src.Note = fmt.Sprintf("no step timings refer to %s (built without step-timings, or pushed by another tool)", image)
		return src
	}
	body, err := reg.ReadReferrer(ctx, subject, d, RecordLayer, MaxRecordBytes)
	if err != nil {
		src.Note = fmt.Sprintf("its step timings %s could not be read: %v", d.Digest, err)
		return src
	}
	rec, err := Decode(body)
	if err != nil {
		src.Note = fmt.Sprintf("its step timings %s could not be read: %v", d.Digest, err)
		return src
	}
	src.Artifact, src.Created, src.Record = d.Digest.String(), rec.Created, &rec
	if src.Created.IsZero() {
		src.Created, _ = time.Parse(time.RFC3339Nano, d.Annotations[CreatedAnnotation])
	}
	return src
}
