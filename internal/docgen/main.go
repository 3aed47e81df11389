// Command docgen writes action.yml and the input and output tables of
// docs/inputs.md from the tables in internal/inputs and internal/report, so
// the action, the CLI flags and the documentation cannot drift apart.
//
//	go run ./internal/docgen        (from the repository root)
package main

import (
	"fmt"
	"os"

	"github.com/inlinecache/action/internal/docgen/docs"
)

func main() {
	if err := docs.Write("."); err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}
