// Package kerneltest runs the device package against the Linux kernel's
// gpio-sim driver: real /dev/gpiochip lines, driven through periph's
// gpioioctl exactly as on a Raspberry Pi. run.sh boots Debian's kernel under
// QEMU with gpio-sim and runs these tests inside it; elsewhere they skip.
package kerneltest

import (
	"context"
	"fmt"
	"github.com/tocsin-relay/tocsin/internal/needs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/device"
	"github.com/tocsin-relay/tocsin/device/periph"
)

const cfgRoot = "/sys/kernel/config/gpio-sim"

// The simulated bank mimics the Pi header names of the example config.
var lineNames = []string{"GPIO17", "GPIO27", "GPIO5", "GPIO22", "GPIO23", "GPIO6"}

var simDir string // /sys/devices/platform/gpio-sim.N/gpiochipM

func TestMain(m *testing.M) {
	if os.Getenv("TOCSIN_KERNEL_TEST") == "" {
		fmt.Println("kerneltest: skipped: runs only inside the QEMU guest of run.sh (make test-kernel)")
		os.Exit(m.Run())
	}
	if err := makeChip(); err != nil {
		fmt.Println("kerneltest: gpio-sim:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func inGuest(t *testing.T) {
	t.Helper()
	needs.That(t, simDir != "", "kernel", "needs the gpio-sim kernel of run.sh: `make test-kernel` runs it under QEMU")
}

// makeChip creates a gpio-sim chip through configfs with named lines.
func makeChip() error {
	dev := filepath.Join(cfgRoot, "tocsin")
	bank := filepath.Join(dev, "bank0")
	if err := os.MkdirAll(bank, 0o755); err != nil {
		return err
	}
	if err := write(filepath.Join(bank, "num_lines"), fmt.Sprint(len(lineNames))); err != nil {
		return err
	}
	for i, n := range lineNames {
		ld := filepath.Join(bank, fmt.Sprintf("line%d", i))
		if err := os.Mkdir(ld, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if err := write(filepath.Join(ld, "name"), n); err != nil {
			return err
		}
	}
	if err := write(filepath.Join(dev, "live"), "1"); err != nil {
		return err
	}
	simDir = filepath.Join("/sys/devices/platform", read(filepath.Join(dev, "dev_name")), read(filepath.Join(bank, "chip_name")))
	fmt.Println("kerneltest: gpio-sim chip at", simDir)
	return nil
}

func write(path, val string) error { return os.WriteFile(path, []byte(val), 0o644) }

func read(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "ERR:" + err.Error()
	}
	return strings.TrimSpace(string(b))
}

func offset(name string) int {
	for i, n := range lineNames {
		if n == name {
			return i
		}
	}
	panic("no line " + name)
}

// value is what the line shows outside the chip: "1" or "0".
func value(name string) string {
	return read(fmt.Sprintf("%s/sim_gpio%d/value", simDir, offset(name)))
}

// pull moves an input line as a button would: pull-down is a button to
// ground closing against the pull-up.
func pull(t *testing.T, name, p string) {
	t.Helper()
	if err := write(fmt.Sprintf("%s/sim_gpio%d/pull", simDir, offset(name)), p); err != nil {
		t.Fatal(err)
	}
}

// direction reads the kernel's view of a line from debugfs: in or out.
func direction(name string) string {
	b, err := os.ReadFile("/sys/kernel/debug/gpio")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		// " gpio-0   (GPIO17              |kerneltest.test@1   ) out hi"
		if strings.Contains(l, "("+name+" ") || strings.Contains(l, "("+name+"|") {
			for _, w := range strings.Fields(l) {
				if w == "in" || w == "out" {
					return w
				}
			}
		}
	}
	return "?"
}

// eventually waits for cond, checking every few milliseconds: the kernel
// gives no notification for a line's outside value.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func nextPress(t *testing.T, m *device.Manager, within time.Duration) device.Press {
	t.Helper()
	select {
	case p := <-m.Presses():
		return p
	case <-time.After(within):
		t.Fatalf("no press within %v", within)
	}
	return device.Press{}
}

func noPress(t *testing.T, m *device.Manager, within time.Duration) {
	t.Helper()
	select {
	case p := <-m.Presses():
		t.Fatalf("unexpected press %+v", p)
	case <-time.After(within):
	}
}

func config() device.Config {
	return device.Config{
		Backend:   device.BackendPeriph,
		LongPress: time.Second, // keeps the guest run short
		Outputs: []device.OutputConfig{
			{ID: "siren-1", Pin: "GPIO17", Zone: "line1", Kind: device.KindSiren},
			{ID: "red-1", Pin: "GPIO27", Zone: "line1", Kind: device.KindLight},
			{ID: "relay-1", Pin: "GPIO5", Zone: "line1", Kind: device.KindSiren, ActiveLow: true},
		},
		Inputs: []device.InputConfig{
			{ID: "ack-1", Pin: "GPIO22", Zone: "line1", Action: device.ActionAck, Pull: "up", ActiveLow: true},
			{ID: "silence-1", Pin: "GPIO23", Zone: "line1", Action: device.ActionSilence, Pull: "up", ActiveLow: true},
		},
	}
}

func TestAlarmButtonShutdown(t *testing.T) {
	inGuest(t)
	b, err := periph.Open()
	if err != nil {
		t.Fatal(err)
	}
	m, err := device.Open(b, config(), device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	// Safe on start.
	if value("GPIO17") != "0" || value("GPIO27") != "0" || value("GPIO5") != "1" {
		t.Fatalf("after Open: siren %s light %s relay(active-low) %s, want 0 0 1",
			value("GPIO17"), value("GPIO27"), value("GPIO5"))
	}

	// An alarm raises the siren line.
	m.SetZone("line1", device.ZoneState{Siren: device.AlarmCritical, Light: device.LightFlashing})
	eventually(t, "siren line high", func() bool { return value("GPIO17") == "1" })
	eventually(t, "active-low relay line low", func() bool { return value("GPIO5") == "0" })
	eventually(t, "light flashing on", func() bool { return value("GPIO27") == "1" })
	eventually(t, "light flashing off", func() bool { return value("GPIO27") == "0" })
	if d := direction("GPIO27"); d != "out" {
		b, _ := os.ReadFile("/sys/kernel/debug/gpio")
		t.Errorf("flashing light line is %q in the kernel, want out (was it read back?)\n%s", d, b)
	}

	// Pulling the button line gives one ack press.
	pull(t, "GPIO22", "pull-down")
	time.Sleep(150 * time.Millisecond) // the finger holds the button
	pull(t, "GPIO22", "pull-up")
	p := nextPress(t, m, 2*time.Second)
	if p.Input != "ack-1" || p.Action != device.ActionAck || p.Zone != "line1" || p.Long {
		t.Fatalf("press %+v, want a short ack of line1", p)
	}
	noPress(t, m, 200*time.Millisecond)

	// A bouncy contact still counts once.
	for i := 0; i < 5; i++ {
		pull(t, "GPIO23", "pull-down")
		pull(t, "GPIO23", "pull-up")
	}
	pull(t, "GPIO23", "pull-down")
	time.Sleep(150 * time.Millisecond)
	pull(t, "GPIO23", "pull-up")
	if p := nextPress(t, m, 2*time.Second); p.Action != device.ActionSilence || p.Long {
		t.Fatalf("press %+v, want one short silence", p)
	}
	noPress(t, m, 200*time.Millisecond)

	// A long press fires while the button is still held.
	pull(t, "GPIO22", "pull-down")
	start := time.Now()
	p = nextPress(t, m, 3*time.Second)
	held := time.Since(start)
	pull(t, "GPIO22", "pull-up")
	if !p.Long || held < time.Second {
		t.Fatalf("press %+v after %v, want a long press after 1s", p, held)
	}
	noPress(t, m, 200*time.Millisecond)

	// Shutdown drops every output, and Halt gets the readers out of
	// WaitForEdge(0) at once.
	start = time.Now()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if value("GPIO17") != "0" || value("GPIO27") != "0" || value("GPIO5") != "1" {
		t.Fatalf("after Close: siren %s light %s relay(active-low) %s, want 0 0 1",
			value("GPIO17"), value("GPIO27"), value("GPIO5"))
	}
	t.Logf("close took %v", time.Since(start))
}

func TestPowerKey(t *testing.T) {
	inGuest(t)
	b, err := periph.Open()
	if err != nil {
		t.Fatal(err)
	}
	k, err := device.OpenPowerKey(b, device.PowerKeyConfig{Pin: "GPIO6", Pulse: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	done := make(chan error, 1)
	go func() { done <- k.PulsePowerKey(context.Background(), 0) }()
	eventually(t, "power key pressed", func() bool { return value("GPIO6") == "1" })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v := value("GPIO6"); v != "0" {
		t.Fatalf("power key line %s after the pulse, want 0", v)
	}
}
