package systemd_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemonBinary returns the absolute path of bin/tocsin, which `make test`
// builds before running the tests, skipping when it is absent.
func daemonBinary(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "bin", "tocsin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no bin/tocsin (run make build): %v", err)
	}
	return bin
}

// stageExample writes the example tocsin.yaml and policy.yaml into dir
// with the installed paths moved there and, when simulated, the modem and
// GPIO swapped for the built-in simulators, and returns the config path.
func stageExample(t *testing.T, dir string, simulated bool) string {
	t.Helper()
	b, err := os.ReadFile("tocsin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := []string{
		"/var/lib/tocsin", filepath.Join(dir, "state"),
		"/etc/tocsin/", dir + "/",
	}
	if simulated {
		r = append(r,
			`listen: "0.0.0.0:8080"`, `listen: "127.0.0.1:0"`,
			"device: /dev/"+modemLink, "device: sim",
			"backend: periph", "backend: sim",
		)
	}
	cfg := strings.NewReplacer(r...).Replace(string(b))
	for old, want := range map[string]bool{"/etc/tocsin/": false, "device: /dev/" + modemLink: !simulated} {
		if strings.Contains(cfg, old) != want {
			t.Fatalf("staging tocsin.yaml: %q left in place = %v, want %v", old, !want, want)
		}
	}
	pol, err := os.ReadFile("policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"tocsin.yaml": []byte(cfg),
		"policy.yaml": pol,
		"api.token":   []byte("0123456789abcdef0123456789abcdef\n"),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "tocsin.yaml")
}

// TestExampleConfigDaemonCheck runs the daemon's own `tocsin check` on the
// example config and policy, so the examples cannot drift from the parser.
func TestExampleConfigDaemonCheck(t *testing.T) {
	bin := daemonBinary(t)
	cfg := stageExample(t, t.TempDir(), false)
	out := run(t, bin, "check", "-c", cfg)
	t.Logf("tocsin check: %s", bytes.TrimSpace([]byte(out)))
}

// TestDaemonNotify starts bin/tocsin as systemd would for a Type=notify
// unit with WatchdogSec=, against a test NOTIFY_SOCKET, and expects
// READY=1, regular WATCHDOG=1 and STOPPING=1 on SIGTERM.
func TestDaemonNotify(t *testing.T) {
	bin := daemonBinary(t)
	dir := t.TempDir()
	cfg := stageExample(t, dir, true)

	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	const watchdog = time.Second
	cmd := exec.CommandContext(t.Context(), bin, "serve", "-c", cfg)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") && !strings.HasPrefix(kv, "WATCHDOG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "NOTIFY_SOCKET="+sock,
		"WATCHDOG_USEC="+strconv.FormatInt(watchdog.Microseconds(), 10))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("daemon output:\n%s", logs.String())
		}
	}()

	// receive returns the next notification; a missing one within the
	// deadline fails the test.
	buf := make([]byte, 4096)
	receive := func(within time.Duration, waitingFor string) (string, time.Time) {
		t.Helper()
		if err := conn.SetReadDeadline(time.Now().Add(within)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("no notification within %v while waiting for %s", within, waitingFor)
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n]), time.Now()
	}
	has := func(msg, field string) bool {
		return strings.Contains("\n"+msg+"\n", "\n"+field+"\n")
	}

	start := time.Now()
	var ready time.Time
	for ready.IsZero() {
		msg, at := receive(30*time.Second, "READY=1")
		if has(msg, "READY=1") {
			ready = at
		}
	}
	t.Logf("READY=1 %v after start", ready.Sub(start).Round(time.Millisecond))

	// Pings every WATCHDOG_USEC/2; allow a whole period of slack on each.
	var pings []time.Time
	for len(pings) < 5 {
		msg, at := receive(2*watchdog, "WATCHDOG=1")
		if has(msg, "WATCHDOG=1") {
			pings = append(pings, at)
		}
	}
	var longest time.Duration
	for i := 1; i < len(pings); i++ {
		longest = max(longest, pings[i].Sub(pings[i-1]))
	}
	t.Logf("%d WATCHDOG=1 pings with WATCHDOG_USEC=%v; longest gap %v", len(pings), watchdog, longest.Round(time.Millisecond))
	if longest >= watchdog {
		t.Errorf("longest gap between pings %v, want under the watchdog period %v", longest, watchdog)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		msg, _ := receive(15*time.Second, "STOPPING=1")
		if has(msg, "STOPPING=1") {
			break
		}
	}
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}
}
