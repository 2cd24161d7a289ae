package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// `tocsin policy check` prints exactly the golden error lines for each bad
// example and exits 1; `tocsin check -c` does the same through a config.
func TestCheckPrintsFileLineErrors(t *testing.T) {
	dir, err := filepath.Abs("../../escalation/policyfile/testdata")
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := filepath.Glob(filepath.Join(dir, "bad-*.yaml"))
	if len(bad) == 0 {
		t.Fatal("no bad examples")
	}
	for _, f := range bad {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tocsinBin, "policy", "check", name)
			cmd.Dir = dir
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err = cmd.Run()
			if code := exitCode(err); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if got := out.String(); strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
				t.Errorf("output:\n%s\nwant:\n%s", got, want)
			}

			// Through a daemon config naming the same policy file.
			cfg := filepath.Join(t.TempDir(), "tocsin.yaml")
			os.WriteFile(cfg, []byte("policy_file: "+f+"\nmodem: {device: sim}\ngpio: {backend: none}\n"), 0o600)
			cmd = exec.Command(tocsinBin, "check", "-c", cfg)
			cmd.Dir = dir
			out.Reset()
			cmd.Stdout, cmd.Stderr = &out, &out
			if code := exitCode(cmd.Run()); code != 1 {
				t.Errorf("check -c: exit %d, want 1", code)
			}
			if !strings.Contains(out.String(), strings.SplitN(string(want), "\n", 2)[0]) {
				t.Errorf("check -c output:\n%s\nlacks the first golden line", out.String())
			}
		})
	}
	good := exec.Command(tocsinBin, "policy", "check", "good-spec.yaml")
	good.Dir = dir
	if out, err := good.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok") {
		t.Errorf("good example: %v\n%s", err, out)
	}
}

// A config with mistakes gets every one of them, with its line.
func TestCheckConfigErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tocsin.yaml")
	os.WriteFile(cfg, []byte(`http:
  listen: "nonsense"
  tokens:
    - {name: ops}
modem:
  device: sim
  profile: nokia
mqtt:
  broker: tcp://127.0.0.1:1883
  subscriptions:
    - {topic: "a/#", service: s, format: xml}
gpio:
  backend: none
bogus: 1
`), 0o600)
	out, err := exec.Command(tocsinBin, "check", "-c", cfg).CombinedOutput()
	if exitCode(err) != 1 {
		t.Fatalf("exit %v, want 1", err)
	}
	if !strings.Contains(string(out), `tocsin.yaml:14: unknown key "bogus" in the top level (known: `) {
		t.Errorf("unknown key not reported with its line:\n%s", out)
	}
	// Fix the unknown key: the remaining problems are all reported.
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(data, []byte("bogus: 1\n"), nil, 1), 0o600)
	out, _ = exec.Command(tocsinBin, "check", "-c", cfg).CombinedOutput()
	for _, want := range []string{
		`tocsin.yaml:2: http.listen "nonsense": want host:port`,
		`tocsin.yaml:4: http.tokens "ops": give exactly one of token and token_file`,
		`tocsin.yaml:7: modem.profile "nokia"`,
		`tocsin.yaml:11: mqtt.subscriptions "a/#": format "xml"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return ws.ExitStatus()
		}
	}
	return -1
}
