// Package periph is the GPIO backend for real hardware: periph.io's
// gpioioctl driver on the Linux GPIO character device (/dev/gpiochip*),
// which works on Raspberry Pi 4 and 5 without root-only memory mapping.
//
// Only gpioioctl is registered and initialised, so no other periph driver
// probes the machine's buses at start.
package periph

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3/gpioioctl"
)

// Backend hands out lines of the machine's GPIO chips by name ("GPIO17").
type Backend struct{}

var (
	initOnce sync.Once
	initErr  error
)

// Open initialises the GPIO character device driver once per process.
func Open() (*Backend, error) {
	initOnce.Do(func() {
		if _, err := driverreg.Init(); err != nil {
			initErr = fmt.Errorf("gpio: %w", err)
			return
		}
		if len(gpioioctl.Chips) == 0 {
			initErr = errors.New("gpio: no GPIO chips found (/dev/gpiochip*): is this a Raspberry Pi, and may this user open the GPIO character device?")
		}
	})
	if initErr != nil {
		return nil, initErr
	}
	return &Backend{}, nil
}

// Line returns the line with that name. The error lists the names there
// are, so a typo in the config is easy to spot.
func (*Backend) Line(name string) (gpio.PinIO, error) {
	if p := gpioreg.ByName(name); p != nil {
		return p, nil
	}
	var names []string
	for _, p := range gpioreg.All() {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	if len(names) > 40 {
		names = append(names[:40], "...")
	}
	return nil, fmt.Errorf("gpio: no line named %q (lines: %s)", name, strings.Join(names, " "))
}
