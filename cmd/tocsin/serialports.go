package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// serialPorts lists the stable names of the serial ports (dir is
// /dev/serial/by-id), sorted; a SIM7600's or an EC25's AT port is the
// one ending -if02-port0.
func serialPorts(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}

// portHolders says what else uses the serial port dev: a process with the
// port open (found through the /proc/PID/fd links under proc) or the
// kernel's serial console (console= in proc/cmdline), either of which
// garbles the AT conversation.
func portHolders(proc, dev string) []string {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", dev, err)}
	}
	var out []string
	if b, err := os.ReadFile(filepath.Join(proc, "cmdline")); err == nil {
		for _, f := range strings.Fields(string(b)) {
			c, ok := strings.CutPrefix(f, "console=")
			if !ok {
				continue
			}
			tty, _, _ := strings.Cut(c, ",")
			consoleReal, err := filepath.EvalSymlinks("/dev/" + tty)
			if err != nil {
				consoleReal = "/dev/" + tty
			}
			if consoleReal == real {
				out = append(out, fmt.Sprintf("the serial console (console=%s in /proc/cmdline) uses %s: turn it off with raspi-config, Interface Options, Serial Port (login shell: No, hardware: Yes) / シリアルコンソールがこのポートを使っています", c, real))
			}
		}
	}
	pids, _ := os.ReadDir(proc)
	for _, p := range pids {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(proc, p.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(proc, p.Name(), "fd", fd.Name())); err == nil && l == real {
				comm, _ := os.ReadFile(filepath.Join(proc, p.Name(), "comm"))
				out = append(out, fmt.Sprintf("process %d (%s) has %s open: stop it first / プロセス %d がポートを使用中です", pid, strings.TrimSpace(string(comm)), real, pid))
				break
			}
		}
	}
	return out
}

// modemManagerActive reports whether ModemManager runs: it probes every
// new serial port with AT commands and holds modems it likes.
func modemManagerActive() bool {
	return exec.Command("systemctl", "is-active", "--quiet", "ModemManager").Run() == nil
}
