package console

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the layering of STYLE.md honest: the console is an
// adapter that knows the domain (escalation) and the standard library,
// and reaches the daemon, the modem simulator and the store only through
// the interfaces it declares.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files: %v", err)
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
			if !strings.Contains(first, ".") || path == "github.com/tocsin-relay/tocsin/escalation" {
				continue
			}
			t.Errorf("%s imports %s; the console may import only escalation and the standard library", f, path)
		}
	}
}
