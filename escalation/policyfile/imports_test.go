package policyfile

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the layering of STYLE.md honest for the domain and
// this adapter: escalation imports only the standard library, policyfile
// only escalation, yaml.v3 and the standard library.
func TestImports(t *testing.T) {
	check := func(dir string, allowed map[string]bool) {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				first, _, _ := strings.Cut(path, "/")
				if !strings.Contains(first, ".") || allowed[path] {
					continue // the standard library has no dot in its first element
				}
				t.Errorf("%s imports %s; allowed beyond the standard library: %v", f, path, allowed)
			}
		}
	}
	check("..", map[string]bool{})
	check(".", map[string]bool{"gopkg.in/yaml.v3": true, "github.com/tocsin-relay/tocsin/escalation": true})
}
