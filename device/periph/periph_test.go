package periph_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tocsin-relay/tocsin/device/periph"
)

// On a machine with GPIO chips (a Pi, the kerneltest guest) Open succeeds
// and a missing line is named; elsewhere Open says what is missing.
func TestOpen(t *testing.T) {
	chips, _ := filepath.Glob("/dev/gpiochip*")
	b, err := periph.Open()
	if len(chips) == 0 {
		if err == nil || !strings.Contains(err.Error(), "/dev/gpiochip") {
			t.Fatalf("Open without GPIO chips: %v, want an error naming /dev/gpiochip", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Open with %v: %v", chips, err)
	}
	if _, err := b.Line("NO_SUCH_LINE"); err == nil || !strings.Contains(err.Error(), `no line named "NO_SUCH_LINE"`) {
		t.Errorf("missing line: %v", err)
	}
}
