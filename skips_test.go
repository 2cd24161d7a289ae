package tocsin_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// skipCall matches a test skipping itself: t.Skip, t.Skipf, t.SkipNow.
var skipCall = regexp.MustCompile(`\.Skip(f|Now)?\(`)

// TestSkipsGoThroughNeeds: a test that needs a tool says so through
// internal/needs, which fails it when the tool is missing unless
// TOCSIN_SKIP asks for the skip, and records the skip for `make test`'s
// summary. A bare t.Skip would again let a fresh machine report green
// with its most important tests never run.
func TestSkipsGoThroughNeeds(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "*_test.go").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, path := range strings.Fields(string(out)) {
		if strings.HasPrefix(path, "internal/needs/") || path == "skips_test.go" {
			continue
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		} else if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if code, _, _ := strings.Cut(line, "//"); skipCall.MatchString(code) {
				t.Errorf("%s:%d: %s — use needs.Command, needs.That or needs.Long (internal/needs)", path, i+1, strings.TrimSpace(line))
			}
		}
	}
}
