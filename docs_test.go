package tocsin_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mdLink matches the target of a Markdown link or image: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsStayInTheRepository: the README and the docs a clone (and the
// package, under /usr/share/doc/tocsin) carries link only to files that
// are in it. A link to a file outside the repository, or a "SPEC §"
// reference to a contract the clone does not have, leaves the reader
// with nothing.
func TestDocsStayInTheRepository(t *testing.T) {
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "README.md")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, bad := range []string{"SPEC §", "SPEC.md", "/work/shared", "../shared"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s mentions %q: the contract is docs/reference.md", f, bad)
			}
		}
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.HasPrefix(target, "#") {
				continue
			}
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				if f == "README.md" {
					t.Errorf("README.md links outside the repository: %s", target)
				}
				continue
			}
			path, _, _ := strings.Cut(target, "#")
			resolved := filepath.Join(filepath.Dir(f), path)
			if strings.HasPrefix(resolved, "..") {
				t.Errorf("%s links outside the repository: %s", f, target)
				continue
			}
			if _, err := os.Stat(resolved); err != nil {
				t.Errorf("%s links to %s, which is not in the repository", f, target)
			}
		}
	}
}

// TestSourcesCiteTheRepository: comments in the code cite the contract a
// clone has (docs/reference.md §N), not files outside it.
func TestSourcesCiteTheRepository(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "node_modules" || d.Name() == "dist" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || path == "docs_test.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, bad := range []string{"SPEC §", "SPEC.md", "/work/shared", "../shared"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s mentions %q: cite docs/reference.md §N or a file in the repository", path, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
