// Package needs lets a test say what it needs from the machine — a
// program such as mosquitto, a kernel, a package artefact — so that a
// missing part fails the test instead of silently skipping it. A test that
// skipped whenever mosquitto was absent reported green on a fresh machine
// while the relay's most important tests never ran.
//
// A test skips only when asked: TOCSIN_SKIP is a comma-separated list of
// tags (browser, kernel, mqtt, packages, ...), and a need whose tag is in
// it skips instead of failing. Every skip is written, with its reason, to
// the file named by TOCSIN_SKIP_LOG (one line: tag, test, reason), which
// `make test` prints at the end of the run.
//
// Tests call needs, never t.Skip directly; TestSkipsGoThroughNeeds at the
// repository root (skips_test.go) keeps it so.
package needs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Environment variables read by this package.
const (
	// SkipEnv lists the tags whose needs skip instead of failing.
	SkipEnv = "TOCSIN_SKIP"
	// LogEnv names a file every skip is appended to.
	LogEnv = "TOCSIN_SKIP_LOG"
)

// sbinDirs are searched after $PATH: Debian installs daemons such as
// mosquitto in /usr/sbin, which an ordinary user's PATH lacks.
var sbinDirs = []string{"/usr/sbin", "/sbin"}

// Asked reports whether tag is in TOCSIN_SKIP.
func Asked(tag string) bool {
	for _, s := range strings.Split(os.Getenv(SkipEnv), ",") {
		if strings.TrimSpace(s) == tag {
			return true
		}
	}
	return false
}

// Command returns the path of the program name (or, failing that, of one
// of alts: other names the same program goes by), looking in $PATH and
// then in /usr/sbin and /sbin. When none is installed the test fails
// naming it — or skips, when tag is in TOCSIN_SKIP.
func Command(t testing.TB, name, tag string, alts ...string) string {
	t.Helper()
	for _, n := range append([]string{name}, alts...) {
		if p, err := lookPath(n); err == nil {
			return p
		}
	}
	That(t, false, tag, fmt.Sprintf("%s is not installed (.ci/packages.txt lists its Debian package; `make test` installs them as root)", name))
	return ""
}

func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		if fi, e := os.Stat(filepath.Join(d, name)); e == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return filepath.Join(d, name), nil
		}
	}
	return "", err
}

// That fails the test with reason unless ok; when tag is in TOCSIN_SKIP it
// skips instead, and the skip is recorded. reason says what is missing and
// how to get it.
func That(t testing.TB, ok bool, tag, reason string) {
	t.Helper()
	if ok {
		return
	}
	if !Asked(tag) {
		t.Fatalf("%s — or set %s=%s to skip this test", reason, SkipEnv, tag)
	}
	record(t, tag, reason)
	t.Skipf("SKIP[%s]: %s", tag, reason)
}

var logMu sync.Mutex // serialises this process's appends to the skip log

// record appends the skip to TOCSIN_SKIP_LOG. Lines are short and written
// with one O_APPEND write, so the test binaries of several packages
// running at once do not interleave them.
func record(t testing.TB, tag, reason string) {
	path := os.Getenv(LogEnv)
	if path == "" {
		return
	}
	line := fmt.Sprintf("%s\t%s %s\t%s\n", tag, packageDir(), t.Name(), strings.ReplaceAll(reason, "\n", " "))
	logMu.Lock()
	defer logMu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = f.WriteString(line)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Logf("needs: recording the skip in %s: %v", path, err)
	}
}

// packageDir is the test's package directory relative to the module root
// (go test runs a package's tests in its directory).
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return wd
		}
		dir = parent
	}
}

// Long skips a test that takes long under go test -short — asking for
// short tests is asking to skip it — and records the skip under the tag
// "short".
func Long(t testing.TB, reason string) {
	t.Helper()
	if testing.Short() {
		record(t, "short", reason)
		t.Skipf("SKIP[short]: %s", reason)
	}
}
