//go:build linux

// Package e2e runs the inline-cache binary against a real BuildKit daemon
// and a real registry (see internal/testenv). These tests never skip: on a
// machine that cannot provide the environment they fail and say why.
package e2e

import (
	"os"
	"regexp"
	"testing"

	"github.com/inlinecache/action/internal/e2e/harness"
)

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m))
}

// The harness under the short names these tests use.
type (
	run         = harness.Run
	cacheReport = harness.CacheReport
)

var (
	action       = harness.Build
	cli          = harness.CLI
	actionEnv    = harness.Action
	actionIn     = harness.ActionIn
	runBinary    = harness.RunBinary
	cleanEnv     = harness.CleanEnv
	parseOutputs = harness.ParseOutputs
	parseReport  = harness.ParseReport
	resultBlock  = harness.ResultBlock
	project      = harness.Project
	repo         = harness.Repo
	prune        = harness.Prune
	engine       = harness.Engine
	cachedRE     = harness.CachedRE
	setEnv       = harness.SetEnv
	enginePrune  = harness.EnginePrune
	lookPathIn   = harness.LookPathIn
	checkPushed  = harness.CheckPushed
)

var vertexRE = regexp.MustCompile(`(?m)^#(\d+) \[[^\]]*\d+/\d+\] (RUN .*)$`)

// runSteps reads the raw buildx log: every RUN step and whether it was
// CACHED. It does not use the tool's own parser, so it checks it.
func runSteps(log string) map[string]bool {
	cached := map[string]bool{}
	for _, m := range cachedRE.FindAllStringSubmatch(log, -1) {
		cached[m[1]] = true
	}
	steps := map[string]bool{}
	for _, m := range vertexRE.FindAllStringSubmatch(log, -1) {
		steps[m[2]] = steps[m[2]] || cached[m[1]]
	}
	return steps
}
