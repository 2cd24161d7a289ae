package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tocsin-relay/tocsin/internal/needs"

	"github.com/creack/pty"
)

// `tocsin init --non-interactive` on the simulated modem writes a config
// and a policy that `tocsin check` accepts without warnings, sends the
// test SMS, places the test call, pulses the siren, and refuses to run
// again over its own files without --force.
func TestInitNonInteractive(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("correct horse battery\n"), 0o600)
	args := []string{"init", "--non-interactive", "--device", "sim", "--config-dir", etc,
		"--contact", "tanaka,田中 太郎,090-1234-5678,ja", "--contact", "suzuki,Suzuki,+819087654321,en",
		"--console-user", "lead", "--console-password-file", pw, "--state-dir", filepath.Join(dir, "state"),
		"--gpio-backend", "sim", "--siren", "line1:GPIO17", "--time-zone", "Asia/Tokyo", "--yes"}
	out, err := exec.Command(tocsinBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	for _, want := range []string{
		"model:        SIMCOM_SIM7600G-H",
		"test SMS sent to +819012345678",
		`outcome: answered, rang true, answered true, keys "4"`,
		"siren siren-line1 pulsed",
		"tocsin.yaml: ok",
		"policy.yaml: ok (2 contacts, 2 services, 0 schedules, 1 escalation policies)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "warning") {
		t.Errorf("init's files have warnings:\n%s", out)
	}
	cfg := filepath.Join(etc, "tocsin.yaml")
	check, err := exec.Command(tocsinBin, "check", "-c", cfg).CombinedOutput()
	if err != nil || strings.Contains(string(check), "warning") {
		t.Errorf("check of init's files: %v\n%s", err, check)
	}
	pol, _ := os.ReadFile(filepath.Join(etc, "policy.yaml"))
	for _, want := range []string{`phone: "+819012345678"`, "{id: tocsin,", "{zone: line1}", "time_zone: Asia/Tokyo"} {
		if !strings.Contains(string(pol), want) {
			t.Errorf("policy lacks %q:\n%s", want, pol)
		}
	}
	if strings.Contains(string(pol), "heartbeats") {
		t.Errorf("init's policy has heartbeats (they page when nothing feeds them):\n%s", pol)
	}
	st, err := os.Stat(filepath.Join(etc, "console-lead.pass"))
	if err != nil || st.Mode().Perm()&0o077 != 0 && st.Mode().Perm() != 0o640 {
		t.Errorf("console password file: %v, mode %v", err, st.Mode())
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "console-lead.pass")); bcrypt.CompareHashAndPassword(bytes.TrimSpace(b), []byte("correct horse battery")) != nil {
		t.Errorf("console password file holds %q, want the bcrypt hash of the password", b)
	}

	out, err = exec.Command(tocsinBin, args...).CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "exists: not overwritten (give --force to replace it)") {
		t.Errorf("second init: %v\n%s", err, out)
	}
	out, err = exec.Command(tocsinBin, append(args, "--force")...).CombinedOutput()
	if err != nil {
		t.Errorf("init --force: %v\n%s", err, out)
	}
}

// Without --yes, --non-interactive sends nothing; without --device or a
// contact it says which flag is missing.
func TestInitNonInteractiveAsksForFlags(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(tocsinBin, "init", "--non-interactive", "--config-dir", dir).CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), "--non-interactive needs --device") {
		t.Errorf("no device: %v\n%s", err, out)
	}
	out, err = exec.Command(tocsinBin, "init", "--non-interactive", "--config-dir", dir, "--device", "sim").CombinedOutput()
	if exitCode(err) != 2 || !strings.Contains(string(out), `--non-interactive needs at least one --contact "id,name,phone,lang"`) {
		t.Errorf("no contact: %v\n%s", err, out)
	}
	out, err = exec.Command(tocsinBin, "init", "--non-interactive", "--config-dir", dir, "--device", "sim",
		"--contact", "tanaka,Tanaka,090-1234-5678,ja", "--state-dir", filepath.Join(dir, "state"), "--gpio-backend", "none").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test SMS skipped") || strings.Contains(string(out), "calling") {
		t.Errorf("without --yes: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "generated password") {
		t.Errorf("no password given and none generated:\n%s", out)
	}
}

// The interactive run, answering its prompts on stdin: a bad phone number
// is asked again, national numbers are read with the region, the password
// is asked twice, and the files pass `tocsin check`.
func TestInitInteractive(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	answers := strings.Join([]string{
		"sim",                                    // modem device
		"tanaka", "田中 太郎", "090-1234-5678", "ja", // contact 1
		"y",                            // another
		"suzuki", "Suzuki", "12", "en", // a number that does not read
		"suzuki", "Suzuki", "+81 90-8765-4321", "en",
		"n",                              // no more
		"",                               // login name: the default
		"correct horse", "correct horse", // password twice
		"line1:GPIO17", // sirens
		"y",            // test SMS
		"",             // test call: default no
		"y",            // pulse the siren
	}, "\n") + "\n"
	cmd := exec.Command(tocsinBin, "init", "--config-dir", etc, "--state-dir", filepath.Join(dir, "state"), "--gpio-backend", "sim")
	cmd.Stdin = strings.NewReader(answers)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Modem device / モデムのデバイス [",
		"Contact 1 id",
		"invalid phone number",
		"Password (8 characters or more)",
		"test SMS sent to +819012345678",
		"siren siren-line1 pulsed",
		"policy.yaml: ok (2 contacts, 2 services",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "calling") {
		t.Errorf("the test call was placed although declined:\n%s", out)
	}
	pol, _ := os.ReadFile(filepath.Join(etc, "policy.yaml"))
	if !strings.Contains(string(pol), `phone: "+819087654321"`) || !strings.Contains(string(pol), `name: "田中 太郎"`) {
		t.Errorf("policy:\n%s", pol)
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "console-admin.pass")); bcrypt.CompareHashAndPassword(bytes.TrimSpace(b), []byte("correct horse")) != nil {
		t.Errorf("password file holds %q, want the bcrypt hash of the password", b)
	}
}

// portHolders finds a process holding the port through /proc/PID/fd.
func TestPortHolders(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "ttyUSB2")
	os.WriteFile(dev, nil, 0o600)
	link := filepath.Join(dir, "usb-SimTech-if02-port0")
	os.Symlink(dev, link)
	proc := filepath.Join(dir, "proc")
	os.MkdirAll(filepath.Join(proc, "4242", "fd"), 0o755)
	os.WriteFile(filepath.Join(proc, "4242", "comm"), []byte("ModemManager\n"), 0o644)
	os.Symlink(dev, filepath.Join(proc, "4242", "fd", "7"))
	os.MkdirAll(filepath.Join(proc, "99", "fd"), 0o755)
	os.Symlink("/dev/null", filepath.Join(proc, "99", "fd", "0"))
	os.WriteFile(filepath.Join(proc, "cmdline"), []byte("console=tty1 root=/dev/mmcblk0p2\n"), 0o644)
	got := portHolders(proc, link)
	if len(got) != 1 || !strings.Contains(got[0], "process 4242 (ModemManager) has "+dev+" open") {
		t.Errorf("portHolders = %q", got)
	}
}

// On a terminal (a pseudo-terminal here) init answers prompt by prompt,
// and the console password is not echoed back.
func TestInitOnATerminal(t *testing.T) {
	dir := t.TempDir()
	ptmx, tty, err := pty.Open()
	needs.That(t, err == nil, "pty", fmt.Sprintf("no pseudo-terminal: %v", err))
	defer ptmx.Close()
	cmd := exec.Command(tocsinBin, "init", "--config-dir", filepath.Join(dir, "etc"), "--state-dir", filepath.Join(dir, "state"),
		"--device", "sim", "--gpio-backend", "none")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()

	var (
		mu   sync.Mutex
		seen strings.Builder
		grew = make(chan struct{}, 1)
	)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			seen.Write(buf[:n])
			mu.Unlock()
			select {
			case grew <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	from := 0
	expect := func(prompt string) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			mu.Lock()
			text := seen.String()
			mu.Unlock()
			if i := strings.Index(text[from:], prompt); i >= 0 {
				from += i + len(prompt)
				return
			}
			select {
			case <-grew:
			case <-deadline:
				t.Fatalf("no prompt %q; the terminal shows:\n%s", prompt, text)
			}
		}
	}
	answer := func(prompt, text string) {
		t.Helper()
		expect(prompt)
		ptmx.Write([]byte(text + "\r"))
	}
	answer("Contact 1 id", "tanaka")
	answer("Name / 名前", "Tanaka")
	answer("Phone", "09012345678")
	answer("Language of SMS", "en")
	answer("Add another contact?", "n")
	answer("Login name", "lead")
	answer("Password (8 characters or more)", "s3cret-horse")
	answer("Again", "s3cret-horse")
	answer("Send a test SMS", "n")
	answer("Place a test call", "n")
	expect("policy.yaml: ok (1 contacts, 2 services")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("init: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("init did not end")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(seen.String(), "s3cret-horse") {
		t.Errorf("the password was echoed:\n%s", seen.String())
	}
	if !strings.Contains(seen.String(), "tanaka") {
		t.Errorf("ordinary answers were not echoed:\n%s", seen.String())
	}
}

// tocsin passwd writes the bcrypt hash of the password it reads; a short
// password or a missing FILE writes nothing, with a message saying why.
func TestPasswd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lead.pass")
	run := func(stdin string, args ...string) (int, string) {
		cmd := exec.Command(tocsinBin, append([]string{"passwd"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return exitCode(err), string(out)
	}
	if code, out := run("correct horse\n"); code != 2 || !strings.Contains(out, "want one FILE") {
		t.Errorf("passwd without FILE: exit %d\n%s", code, out)
	}
	if code, out := run("short\n", file); code != 1 || !strings.Contains(out, "8 characters") {
		t.Errorf("short password: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(file); err == nil {
		t.Errorf("a short password wrote %s", file)
	}
	if code, out := run("correct horse\n", file); code != 0 {
		t.Fatalf("passwd: exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(file)
	st, _ := os.Stat(file)
	if err != nil || bcrypt.CompareHashAndPassword(bytes.TrimSpace(b), []byte("correct horse")) != nil || st.Mode().Perm()&0o007 != 0 {
		t.Errorf("%s holds %q (mode %v, err %v), want the bcrypt hash, not readable by others", file, b, st.Mode(), err)
	}
}
