//go:build linux

// Package registries runs the core scenario on each test registry
// (distribution 2.8 and v3, go-containerregistry's with the referrers API)
// and through proxies that play hosted registries. A package of its own,
// with its own environment, so that `go test ./...` runs it beside
// internal/e2e instead of after it.
package registries

import (
	"os"
	"testing"

	"github.com/inlinecache/action/internal/e2e/harness"
)

func TestMain(m *testing.M) {
	code := harness.Main(m)
	closeMatrixRegistries()
	os.Exit(code)
}

// The harness under the short names these tests use.
type run = harness.Run

var (
	action      = harness.Build
	cli         = harness.CLI
	parseReport = harness.ParseReport
	resultBlock = harness.ResultBlock
	project     = harness.Project
	checkPushed = harness.CheckPushed
)
