package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/inlinecache/action/internal/report"
)

// runInspect shows what an image's inline cache holds: per platform, each
// layer with the Dockerfile step that made it and whether the cache reaches
// it, and the shape of the records graph; for a registry cache, its config
// and layer blobs. It exits 0 whenever it could read the image and all its
// platforms (or the cache config), whatever the cache holds (verify is the
// command that judges), 1 when it could not, 2 on usage errors.
func runInspect(ctx context.Context, args []string, env Env) error {
	s, v, asJSON, err := refCommand(env, "inspect", "inspect [flags] REF", args)
	if err != nil {
		return err
	}
	res := verifyOne(ctx, v, s.Args[0])
	if asJSON {
		if err := report.WriteJSON(env.Stdout, res); err != nil {
			return failedErr(err)
		}
	} else {
		report.WriteInspectText(env.Stdout, res)
	}
	if res.Report == nil {
		return failedErr(fmt.Errorf("inspect %s: %s", res.Ref, res.Error))
	}
	if c := res.Report.Cache; c != nil && c.Unreadable {
		return failedErr(fmt.Errorf("inspect %s: %s", res.Ref, c.Error))
	}
	var unread []string
	for _, p := range res.Report.Platforms {
		if p.Unreadable {
			unread = append(unread, p.Platform)
		}
	}
	if len(unread) > 0 {
		return failedErr(fmt.Errorf("inspect %s: %d of %d platforms could not be read: %s",
			res.Ref, len(unread), len(res.Report.Platforms), strings.Join(unread, ", ")))
	}
	return nil
}
