package device

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// HeaderLines is how many GPIO lines the Raspberry Pi's 40-pin header
// brings out: GPIO0 to GPIO27, on every model from the Pi 2 to the Pi 5.
const HeaderLines = 28

// ErrNotHeaderName is returned by CheckPin for a name that is not of the
// form GPIOn: it may be a line of another board's GPIO chip, which only
// the machine itself can confirm (`tocsin gpio test`).
var ErrNotHeaderName = errors.New("not a Raspberry Pi header line name (GPIO0 to GPIO27)")

// CheckPin says whether name can be a line on the Raspberry Pi header,
// where the periph backend finds lines by their chip names ("GPIO17").
// GPIOn beyond the header is an error; a name of another form wraps
// ErrNotHeaderName, so a caller can warn rather than refuse.
func CheckPin(name string) error {
	n, ok := strings.CutPrefix(name, "GPIO")
	if !ok {
		return fmt.Errorf("pin %q: %w; the periph backend must find a line of that name on this machine", name, ErrNotHeaderName)
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || n != strconv.Itoa(i) {
		return fmt.Errorf("pin %q: %w; the periph backend must find a line of that name on this machine", name, ErrNotHeaderName)
	}
	if i >= HeaderLines {
		return fmt.Errorf("pin %q does not exist: the Raspberry Pi header has GPIO0 to GPIO%d", name, HeaderLines-1)
	}
	return nil
}
