package systemd_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCopyrightNamesEveryModule: the package's Debian copyright file
// names the licence of every Go module linked into /usr/bin/tocsin, so a
// new dependency cannot ship without its licence being written down.
func TestCopyrightNamesEveryModule(t *testing.T) {
	b, err := os.ReadFile("copyright")
	if err != nil {
		t.Fatal(err)
	}
	copyright := string(b)
	if !strings.HasPrefix(copyright, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n") {
		t.Error("copyright is not in Debian's machine-readable format (DEP-5)")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}", "../cmd/tocsin").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		if seen[m] {
			continue
		}
		seen[m] = true
		if !strings.Contains(copyright, m) {
			t.Errorf("systemd/copyright does not name %s, which is linked into the binary: add its copyright and licence", m)
		}
	}
	t.Logf("%d modules linked, each named in systemd/copyright", len(seen))
}
