//go:build linux

// Package cachemounts is the end-to-end test of cache-mounts: compile
// caches kept in the registry, on the remote, docker and docker-container
// builders. A package of its own, with its own environment, so that
// `go test ./...` runs it beside internal/e2e instead of after it.
package cachemounts

import (
	"os"
	"testing"

	"github.com/inlinecache/action/internal/e2e/harness"
)

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m))
}

// The harness under the short names these tests use.
type run = harness.Run

var (
	action      = harness.Build
	actionIn    = harness.ActionIn
	resultBlock = harness.ResultBlock
	project     = harness.Project
	repo        = harness.Repo
	prune       = harness.Prune
	engine      = harness.Engine
	enginePrune = harness.EnginePrune
	lookPathIn  = harness.LookPathIn
	checkPushed = harness.CheckPushed
)
