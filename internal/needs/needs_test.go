package needs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// outcome is what a need did to a test.
type outcome struct {
	failed, skipped bool
	msg             string
}

// fakeT stands in for the test a need is called from. Fatalf and Skipf
// stop the caller, as the real ones do, by panicking to tryNeed.
type fakeT struct {
	*testing.T
	out outcome
}

type stop struct{}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.out = outcome{failed: true, msg: fmt.Sprintf(format, args...)}
	panic(stop{})
}
func (f *fakeT) Skipf(format string, args ...any) {
	f.out = outcome{skipped: true, msg: fmt.Sprintf(format, args...)}
	panic(stop{})
}

func tryNeed(t *testing.T, need func(testing.TB)) (o outcome) {
	f := &fakeT{T: t}
	defer func() {
		if r := recover(); r != nil && r != (stop{}) {
			panic(r)
		}
		o = f.out
	}()
	need(f)
	return
}

// TestMissingFailsUnlessAsked: a missing program fails the test naming
// it; with its tag in TOCSIN_SKIP the test skips, and the skip is written
// to TOCSIN_SKIP_LOG with the reason.
func TestMissingFailsUnlessAsked(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	log := filepath.Join(t.TempDir(), "skips.txt")
	t.Setenv(LogEnv, log)
	missing := func(tb testing.TB) { Command(tb, "no-such-tool-mosquitto", "mqtt") }

	t.Setenv(SkipEnv, "browser")
	if o := tryNeed(t, missing); !o.failed || !strings.Contains(o.msg, "no-such-tool-mosquitto is not installed") || !strings.Contains(o.msg, "TOCSIN_SKIP=mqtt") {
		t.Errorf("not asked to skip: %+v, want a failure naming the tool and the tag", o)
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("a failure was recorded as a skip")
	}

	t.Setenv(SkipEnv, "browser, mqtt")
	if o := tryNeed(t, missing); !o.skipped || !strings.HasPrefix(o.msg, "SKIP[mqtt]: no-such-tool-mosquitto") {
		t.Errorf("asked to skip: %+v, want a skip", o)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if want := "mqtt\t./internal/needs " + t.Name() + "\tno-such-tool-mosquitto is not installed"; !strings.HasPrefix(string(b), want) {
		t.Errorf("skip log %q, want it to start %q", b, want)
	}

	if o := tryNeed(t, func(tb testing.TB) { That(tb, true, "mqtt", "never said") }); o.failed || o.skipped {
		t.Errorf("a need that is met: %+v", o)
	}
}

// TestCommandFindsSbin: Debian's daemons live in /usr/sbin, outside an
// ordinary user's PATH; they count as installed.
func TestCommandFindsSbin(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "fake-daemon")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := sbinDirs
	sbinDirs = []string{dir}
	defer func() { sbinDirs = old }()
	t.Setenv("PATH", t.TempDir())
	if got := Command(t, "fake-daemon", "mqtt"); got != tool {
		t.Errorf("Command = %q, want %q", got, tool)
	}
}

// fakeBin writes executable shell scripts into a new directory and returns
// it, to be the whole PATH of a script under test.
func fakeBin(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The script's own tools, from the real system.
	for _, name := range []string{"bash", "sed", "cat"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestInstallTestPackages runs the check `make test` starts with,
// .ci/install-test-packages, on a machine where mosquitto is missing: as
// root with a failing apt-get it stops naming mosquitto; as a user it
// stops with the command to run; with every package installed it passes;
// as root with a working apt-get it installs exactly what is missing.
func TestInstallTestPackages(t *testing.T) {
	script, err := filepath.Abs("../../.ci/install-test-packages")
	if err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "packages.txt")
	if err := os.WriteFile(list, []byte("# what the tests need\nmosquitto\ngammu   # a comment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// dpkg-query reports gammu installed and mosquitto not.
	const dpkgQuery = `case "$3" in gammu) printf 'install ok installed';; *) echo "dpkg-query: no packages found matching $3" >&2; exit 1;; esac`
	aptLog := filepath.Join(t.TempDir(), "apt.log")
	tests := []struct {
		name     string
		scripts  map[string]string
		wantCode int
		wantOut  []string
		wantApt  string
	}{
		{"root, apt-get fails", map[string]string{"dpkg-query": dpkgQuery, "id": "echo 0",
			"apt-get": `echo "$@" >>` + aptLog + `; exit 100`},
			1, []string{"the install failed; the tests need: mosquitto", "run: apt-get update && apt-get install -y --no-install-recommends mosquitto"}, "update -qq\n"},
		{"a user", map[string]string{"dpkg-query": dpkgQuery, "id": "echo 1000",
			"apt-get": `echo "$@" >>` + aptLog},
			1, []string{"not installed: mosquitto", "run: sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends mosquitto'"}, ""},
		{"root, apt-get works", map[string]string{"dpkg-query": dpkgQuery, "id": "echo 0",
			"apt-get": `echo "$@" >>` + aptLog},
			0, []string{"installing what the tests need: mosquitto"}, "update -qq\ninstall -y -qq --no-install-recommends mosquitto\n"},
		{"all installed", map[string]string{"dpkg-query": `printf 'install ok installed'`, "id": "echo 1000"},
			0, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(aptLog)
			cmd := exec.Command(script, list)
			cmd.Env = []string{"PATH=" + fakeBin(t, tt.scripts)}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; output:\n%s", code, tt.wantCode, out)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			apt, _ := os.ReadFile(aptLog)
			if string(apt) != tt.wantApt {
				t.Errorf("apt-get ran with %q, want %q", apt, tt.wantApt)
			}
		})
	}
}
