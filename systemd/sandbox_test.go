package systemd_test

import (
	"bufio"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// syscallGroups reads every group `systemd-analyze syscall-filter` knows:
// name → members (system calls and nested @groups).
func syscallGroups(t *testing.T, sa string) map[string][]string {
	t.Helper()
	out := run(t, sa, "syscall-filter", "--no-pager")
	groups := map[string][]string{}
	current := ""
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "@"):
			current = strings.TrimSpace(line)
		case strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "":
			current = ""
		case current != "" && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			groups[current] = append(groups[current], strings.TrimSpace(line))
		}
	}
	if len(groups["@system-service"]) == 0 {
		t.Fatalf("systemd-analyze syscall-filter: no @system-service group in\n%s", out)
	}
	return groups
}

// expandFilter resolves one SystemCallFilter= value into system calls.
func expandFilter(t *testing.T, groups map[string][]string, value string, into map[string]bool) {
	t.Helper()
	var walk func(name string, depth int)
	walk = func(name string, depth int) {
		if !strings.HasPrefix(name, "@") {
			into[name] = true
			return
		}
		members, ok := groups[name]
		if !ok || depth > 10 {
			t.Fatalf("SystemCallFilter: unknown group %s", name)
		}
		for _, m := range members {
			walk(m, depth+1)
		}
	}
	for _, name := range strings.Fields(value) {
		walk(name, 0)
	}
}

// allowedSyscalls applies the unit's SystemCallFilter= lines the way
// systemd does when the first one is an allow list: later "~" lines remove
// from it, later plain lines add to it.
func allowedSyscalls(t *testing.T, sa string, u unit) map[string]bool {
	t.Helper()
	filters := u["Service"]["SystemCallFilter"]
	if len(filters) == 0 || strings.HasPrefix(filters[0], "~") {
		t.Fatalf("SystemCallFilter = %q: want an allow list first", filters)
	}
	groups := syscallGroups(t, sa)
	allowed := map[string]bool{}
	for _, f := range filters {
		if deny, ok := strings.CutPrefix(f, "~"); ok {
			denied := map[string]bool{}
			expandFilter(t, groups, deny, denied)
			for s := range denied {
				delete(allowed, s)
			}
		} else {
			expandFilter(t, groups, f, allowed)
		}
	}
	return allowed
}

var (
	// 1234  openat(AT_FDCWD, "/x", O_RDONLY) = 3
	// 1234  <... futex resumed>) = 0
	straceCallRE   = regexp.MustCompile(`^\d+\s+(?:<\.\.\. )?([a-z_][a-z0-9_]*)(?:\(| resumed>)`)
	straceSocketRE = regexp.MustCompile(`\bsocket\((AF_[A-Z0-9]+)`)
	straceOpenRE   = regexp.MustCompile(`\bopenat\([^,]+, "([^"]+)", ([A-Z_|]+)`)
	straceWXRE     = regexp.MustCompile(`\b(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC`)
)

// TestSandboxAllowsDaemon runs bin/tocsin under strace through a start,
// an alert (SQLite write, escalation, SMS through the simulated modem),
// watchdog pings and a stop, and checks that the unit's sandbox would
// allow everything it did: every system call is in SystemCallFilter=,
// every socket family in RestrictAddressFamilies=, no memory is mapped
// writable and executable (MemoryDenyWriteExecute=), and nothing is opened
// for writing outside the state directory (ProtectSystem=strict). A refused
// call would not show in systemd-analyze; it would make the daemon fail on
// the Pi.
func TestSandboxAllowsDaemon(t *testing.T) {
	sa := tool(t, "systemd-analyze", "systemd")
	strace := tool(t, "strace", "strace")
	daemonBinary(t)
	out, err := exec.CommandContext(t.Context(), strace, "-f", "-qq", "-o", os.DevNull, "true").CombinedOutput()
	needs.That(t, err == nil, "strace", fmt.Sprintf("strace cannot trace here (ptrace refused?): %v %s", err, out))
	u := parseUnit(t, "tocsin.service")
	allowed := allowedSyscalls(t, sa, u)
	families := strings.Fields(strings.Join(u["Service"]["RestrictAddressFamilies"], " "))

	dir := t.TempDir()
	trace := filepath.Join(dir, "strace.txt")
	d := startDaemon(t, dir, strace, "-f", "-qq", "-o", trace)
	d.await(60*time.Second, "READY=1")
	d.alert("sandbox test: hydraulic pressure low")
	for range 3 {
		d.await(2*watchdogPeriod, "WATCHDOG=1")
	}
	// SIGTERM goes to the daemon, strace's child, as systemd would send it.
	pid := tracedChild(t, d.cmd.Process.Pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	d.await(15*time.Second, "STOPPING=1")
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("daemon under strace: %v", err)
	}
	d.exited = true

	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	used := map[string]int{}
	refused := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lines int
	for sc.Scan() {
		line := sc.Text()
		lines++
		m := straceCallRE.FindStringSubmatch(line)
		if m == nil {
			continue // signals, exits
		}
		name := m[1]
		used[name]++
		if !allowed[name] {
			refused[name] = line
		}
		if m := straceSocketRE.FindStringSubmatch(line); m != nil && !slices.Contains(families, m[1]) {
			t.Errorf("socket family %s is not in RestrictAddressFamilies=%s: %s", m[1], strings.Join(families, " "), line)
		}
		if straceWXRE.MatchString(line) {
			t.Errorf("writable and executable memory, refused by MemoryDenyWriteExecute=yes: %s", line)
		}
		if m := straceOpenRE.FindStringSubmatch(line); m != nil && opensForWriting(m[2]) && !writablePath(m[1], dir) {
			t.Errorf("opens %s for writing, read-only under ProtectSystem=strict: %s", m[1], line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(used) < 20 {
		t.Fatalf("strace recorded only %d system calls in %d lines; is %s a trace?", len(used), lines, trace)
	}
	for _, name := range slices.Sorted(maps.Keys(refused)) {
		t.Errorf("%s is not in the unit's SystemCallFilter (systemd returns EPERM): %s", name, refused[name])
	}
	t.Logf("the daemon made %d distinct system calls (%d lines of strace), all within the sandbox: %s",
		len(used), lines, strings.Join(slices.Sorted(maps.Keys(used)), " "))
}

// tracedChild returns the pid of strace's child, the daemon.
func tracedChild(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatalf("finding the daemon under strace: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		t.Fatal("strace has no child")
	}
	child, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return child
}

func opensForWriting(flags string) bool {
	for f := range strings.SplitSeq(flags, "|") {
		if f == "O_WRONLY" || f == "O_RDWR" || f == "O_CREAT" || f == "O_TRUNC" {
			return true
		}
	}
	return false
}

// writablePath says whether the sandbox lets the daemon write path: the
// state directory (here the test's dir, which stands in for
// /var/lib/tocsin), devices, and its own /proc entries.
func writablePath(path, dir string) bool {
	for _, prefix := range []string{dir + "/", "/dev/", "/proc/self/", "/proc/thread-self/"} {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}
