package device

import (
	"fmt"

	"github.com/tocsin-relay/tocsin/device/periph"
	"github.com/tocsin-relay/tocsin/device/sim"
)

// OpenBackend returns the backend a config's `backend` names: periph (the
// default) for the Linux GPIO character device, sim for the simulator.
// The sim backend is returned as *sim.Backend, so callers can type-assert
// it to drive and observe lines.
func OpenBackend(name string) (Backend, error) {
	switch name {
	case "", BackendPeriph:
		return periph.Open()
	case BackendSim:
		return sim.New(), nil
	}
	return nil, fmt.Errorf("gpio.backend: unknown backend %q (want periph or sim)", name)
}

// DemoConfig is the GPIO section of `tocsin serve` without a config file:
// the SPEC's example zone on the sim backend, plus a status light.
func DemoConfig() Config {
	return Config{
		Backend: BackendSim,
		Outputs: []OutputConfig{
			{ID: "siren-1", Pin: "GPIO17", Zone: "line1", Kind: KindSiren},
			{ID: "red-1", Pin: "GPIO27", Zone: "line1", Kind: KindLight},
			{ID: "status", Pin: "GPIO26", Kind: KindStatus},
		},
		Inputs: []InputConfig{
			{ID: "ack-1", Pin: "GPIO22", Zone: "line1", Action: ActionAck, Pull: "up", ActiveLow: true},
			{ID: "silence-1", Pin: "GPIO23", Zone: "line1", Action: ActionSilence, Pull: "up", ActiveLow: true},
			{ID: "lamp-test", Pin: "GPIO24", Action: ActionTest, Pull: "up", ActiveLow: true},
		},
	}
}
