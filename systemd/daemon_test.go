package systemd_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/needs"
	"github.com/tocsin-relay/tocsin/internal/testnet"
)

// daemonBinary returns the absolute path of bin/tocsin, which `make test`
// builds before running the tests, skipping when it is absent.
func daemonBinary(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "bin", "tocsin"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(bin)
	needs.That(t, err == nil, "systemd", fmt.Sprintf("no bin/tocsin (run make build): %v", err))
	return bin
}

// apiToken is the token the staged examples put in api.token.
const apiToken = "0123456789abcdef0123456789abcdef"

// stageExample writes the example tocsin.yaml and policy.yaml into dir
// with the installed paths moved there and, when listen is not empty, the
// HTTP listener moved to it and the modem and GPIO swapped for the built-in
// simulators. It returns the config path.
func stageExample(t *testing.T, dir, listen string) string {
	t.Helper()
	b, err := os.ReadFile("tocsin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := []string{
		"/var/lib/tocsin", filepath.Join(dir, "state"),
		"/etc/tocsin/", dir + "/",
	}
	simulated := listen != ""
	if simulated {
		r = append(r,
			`listen: "0.0.0.0:8080"`, `listen: "`+listen+`"`,
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
		"api.token":   []byte(apiToken + "\n"),
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
	cfg := stageExample(t, t.TempDir(), "")
	out := run(t, bin, "check", "-c", cfg)
	t.Logf("tocsin check: %s", bytes.TrimSpace([]byte(out)))
}

// watchdogPeriod is the WATCHDOG_USEC the tests give the daemon; it pings
// at half of it. Two seconds leave a loaded CI machine a second of slack
// per ping before a gap counts as one systemd would have killed it for.
const watchdogPeriod = 2 * time.Second

// daemon is bin/tocsin started as systemd starts a Type=notify unit with
// WatchdogSec=: NOTIFY_SOCKET points at a datagram socket the test reads.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	conn   *net.UnixConn
	url    string // http://127.0.0.1:PORT
	logs   bytes.Buffer
	buf    []byte
	exited bool
}

// startDaemon stages the example config with simulated hardware in dir and
// starts `wrap... bin/tocsin serve -c CONFIG`. The test's cleanup kills it
// if the test did not stop it.
func startDaemon(t *testing.T, dir string, wrap ...string) *daemon {
	t.Helper()
	bin := daemonBinary(t)
	// A free port for the API: taken and released, then handed over.
	listen := testnet.Addr(t)
	cfg := stageExample(t, dir, listen)

	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, conn: conn, url: "http://" + listen, buf: make([]byte, 4096)}
	argv := append(unprivileged(t, dir), wrap...)
	argv = append(argv, bin, "serve", "-c", cfg)
	d.cmd = exec.CommandContext(t.Context(), argv[0], argv[1:]...)
	d.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") && !strings.HasPrefix(kv, "WATCHDOG_") {
			d.cmd.Env = append(d.cmd.Env, kv)
		}
	}
	d.cmd.Env = append(d.cmd.Env, "NOTIFY_SOCKET="+sock,
		"WATCHDOG_USEC="+strconv.FormatInt(watchdogPeriod.Microseconds(), 10))
	d.cmd.Stdout, d.cmd.Stderr = &d.logs, &d.logs
	d.cmd.Cancel = func() error { return d.cmd.Process.Signal(syscall.SIGTERM) }
	d.cmd.WaitDelay = 10 * time.Second
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !d.exited {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
		conn.Close()
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.logs.String())
		}
	})
	return d
}

// nobody is the user and group the daemon runs as when the tests run as
// root: the unit runs it as the unprivileged tocsin user, and root behaves
// differently (SQLite, for one, chowns its files when it is root).
const nobody = 65534

// unprivileged returns the command prefix that drops root for the daemon,
// or nothing when the tests do not run as root. It hands dir to that user,
// as StateDirectory= and the config's group do for the real service.
func unprivileged(t *testing.T, dir string) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	setpriv := tool(t, "setpriv", "util-linux")
	// The temporary directory's parent is private to root; let nobody in.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.Itoa(nobody)
	return []string{setpriv, "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"}
}

// receive returns the next notification and when it came; none within the
// deadline fails the test.
func (d *daemon) receive(within time.Duration, waitingFor string) (string, time.Time) {
	d.t.Helper()
	if err := d.conn.SetReadDeadline(time.Now().Add(within)); err != nil {
		d.t.Fatal(err)
	}
	n, err := d.conn.Read(d.buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		d.t.Fatalf("no notification within %v while waiting for %s", within, waitingFor)
	}
	if err != nil {
		d.t.Fatal(err)
	}
	return string(d.buf[:n]), time.Now()
}

// await reads notifications until one carries field (such as READY=1).
func (d *daemon) await(within time.Duration, field string) time.Time {
	d.t.Helper()
	for {
		msg, at := d.receive(within, field)
		if strings.Contains("\n"+msg+"\n", "\n"+field+"\n") {
			return at
		}
	}
}

// stop sends SIGTERM, as systemctl stop does, and expects STOPPING=1 and a
// clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	d.await(15*time.Second, "STOPPING=1")
	err := d.cmd.Wait()
	d.exited = true
	if err != nil {
		d.t.Errorf("daemon exit after SIGTERM: %v", err)
	}
}

// alert posts a critical alert through the API and expects 202.
func (d *daemon) alert(summary string) {
	d.t.Helper()
	body := `{"service":"press-line-1","summary":"` + summary + `","severity":"critical","source":"systemd-test"}`
	req, err := http.NewRequestWithContext(d.t.Context(), "POST", d.url+"/api/v1/alerts", strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		d.t.Fatalf("POST /api/v1/alerts: %s, want 202", resp.Status)
	}
}

// TestDaemonNotify starts bin/tocsin as systemd would for the unit and
// expects READY=1, WATCHDOG=1 at least every watchdogPeriod, and STOPPING=1
// on SIGTERM.
func TestDaemonNotify(t *testing.T) {
	start := time.Now()
	d := startDaemon(t, t.TempDir())
	ready := d.await(30*time.Second, "READY=1")
	t.Logf("READY=1 %v after start", ready.Sub(start).Round(time.Millisecond))

	// Pings every WATCHDOG_USEC/2; a gap of a whole period would let
	// systemd kill a healthy daemon.
	pings := []time.Time{ready}
	for len(pings) < 5 {
		pings = append(pings, d.await(2*watchdogPeriod, "WATCHDOG=1"))
	}
	var longest time.Duration
	for i := 2; i < len(pings); i++ {
		longest = max(longest, pings[i].Sub(pings[i-1]))
	}
	t.Logf("WATCHDOG=1 with WATCHDOG_USEC=%v: longest gap %v over %d pings",
		watchdogPeriod, longest.Round(time.Millisecond), len(pings)-1)
	if longest >= watchdogPeriod {
		t.Errorf("longest gap between pings %v, want under the watchdog period %v", longest, watchdogPeriod)
	}
	d.stop()
}
