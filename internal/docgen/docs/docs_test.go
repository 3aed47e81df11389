package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inlinecache/action/internal/inputs"
	"github.com/inlinecache/action/internal/report"
)

var root = filepath.Join("..", "..", "..")

// TestCommittedFilesAreCurrent fails when an input or output changed
// without "go run ./internal/docgen".
func TestCommittedFilesAreCurrent(t *testing.T) {
	got, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != ActionYAML() {
		t.Error("action.yml is stale: run go run ./internal/docgen")
	}
	page, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(InputsPage)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Tables(string(page))
	if err != nil {
		t.Fatal(err)
	}
	if string(page) != want {
		t.Error(InputsPage + " tables are stale: run go run ./internal/docgen")
	}
}

func TestEveryInputAndOutputDeclared(t *testing.T) {
	y := ActionYAML()
	for _, s := range inputs.Specs {
		if !strings.Contains(y, "\n  "+s.Name+":\n    description: ") {
			t.Errorf("action.yml does not declare input %s", s.Name)
		}
		if s.Default != "" && !strings.Contains(y, "\n  "+s.Name+":\n    description: "+q(s.Description)+"\n    required: false\n    default: "+q(s.Default)+"\n") {
			t.Errorf("action.yml does not give input %s its default %q", s.Name, s.Default)
		}
	}
	for _, o := range report.OutputSpecs {
		if !strings.Contains(y, "\n  "+o.Name+":\n    description: ") {
			t.Errorf("action.yml does not declare output %s", o.Name)
		}
	}
	if !strings.Contains(y, "using: node24\n  main: dist/index.js") {
		t.Error("action.yml does not run dist/index.js on node24")
	}
}
