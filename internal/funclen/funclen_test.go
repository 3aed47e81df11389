package funclen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxLines is the longest a function may be, counted from its func line to
// its closing brace.
const maxLines = 60

// packages are the directories, relative to this one, whose product code is held
// to maxLines.
var packages = []string{"../app", "../inputs", "../plan", "../report"}

type funcLen struct {
	name  string
	lines int
}

// lengths measures every function and method in the non-test Go files of dir.
func lengths(t *testing.T, dir string) []funcLen {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []funcLen
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			name := fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) == 1 {
				name = receiver(fn.Recv.List[0].Type) + "." + name
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			out = append(out, funcLen{name: fmt.Sprintf("%s %s (%s)", filepath.Base(dir), name, filepath.Base(path)), lines: lines})
		}
	}
	return out
}

func receiver(expr ast.Expr) string {
	switch e := expr.(type) {
	case *ast.StarExpr:
		return receiver(e.X)
	case *ast.IndexExpr:
		return receiver(e.X)
	case *ast.Ident:
		return e.Name
	}
	return "?"
}

func TestFunctionsAreShort(t *testing.T) {
	var all []funcLen
	for _, dir := range packages {
		got := lengths(t, dir)
		if len(got) == 0 {
			t.Fatalf("no functions found in %s", dir)
		}
		all = append(all, got...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].lines > all[j].lines })
	for _, f := range all {
		if f.lines > maxLines {
			t.Errorf("%s is %d lines; at most %d", f.name, f.lines, maxLines)
		}
	}
	// The ten longest, for a look with -v.
	for _, f := range all[:min(len(all), 10)] {
		t.Logf("%4d %s", f.lines, f.name)
	}
}
