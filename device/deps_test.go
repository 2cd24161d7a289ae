package device_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDependencies keeps the layering honest: device and its backends know
// nothing of incidents, the modem or the daemon (kerneltest, a test
// harness, is exempt). Every package says why it exists in a doc comment.
func TestDependencies(t *testing.T) {
	const module = "github.com/tocsin-relay/tocsin/"
	documented := map[string]bool{} // directory -> has a package doc comment
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "kerneltest" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if f.Doc != nil {
			documented[filepath.Dir(path)] = true
		} else if _, seen := documented[filepath.Dir(path)]; !seen {
			documented[filepath.Dir(path)] = false
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, module) && !strings.HasPrefix(p, module+"device") {
				t.Errorf("%s imports %s: device must not depend on the rest of Tocsin", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, ok := range documented {
		if !ok {
			t.Errorf("package in %s has no doc comment", dir)
		}
	}
}
