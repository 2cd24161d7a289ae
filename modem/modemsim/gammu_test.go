package modemsim

import (
	"context"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gammu is Debian's widely used AT client. If the sim fools it — identify,
// then send an SMS in PDU mode — it speaks AT the way real modules do.
func gammu(t *testing.T, sim *Sim, path string, args ...string) string {
	t.Helper()
	bin := needs.Command(t, "gammu", "gammu")
	cfg := filepath.Join(t.TempDir(), "gammurc")
	if err := os.WriteFile(cfg, []byte("[gammu]\ndevice = "+path+"\nconnection = at115200\nlogfile = "+cfg+".log\nlogformat = textall\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", cfg}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(cfg + ".log")
		t.Fatalf("gammu %s: %v\n%s\nsim saw: %q\ngammu log:\n%s", strings.Join(args, " "), err, out, sim.Commands(), log)
	}
	return string(out)
}

func TestGammuIdentify(t *testing.T) {
	sim, path, err := StartPTY(t.Context(), Options{Model: "SIMCOM_SIM7600G-H", SendDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	out := gammu(t, sim, path, "identify")
	for _, want := range []string{"SIMCOM", "SIM7600", "867584030012344"} {
		if !strings.Contains(out, want) {
			t.Errorf("gammu identify does not show %q:\n%s", want, out)
		}
	}
}

func TestGammuSendSMS(t *testing.T) {
	sim, path, err := StartPTY(t.Context(), Options{Model: "SIMCOM_SIM7600G-H", SendDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	gammu(t, sim, path, "sendsms", "TEXT", "+819012345678", "-text", "Hello from gammu")
	select {
	case s := <-sim.Sent():
		if s.To != "+819012345678" || s.Text != "Hello from gammu" {
			t.Errorf("sim got %q to %q", s.Text, s.To)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no SMS reached the sim")
	}
}
