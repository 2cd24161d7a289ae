// Package device drives Tocsin's shop-floor hardware by role: sirens, stack
// lights and a status lamp on GPIO outputs, acknowledge/silence/resolve/test
// buttons on GPIO inputs, networked signal towers, and the modem's power key.
//
// It speaks in roles rather than pins so that the escalation side never
// thinks about levels, relays or bounce: a panel says "zone line1 has an
// unacknowledged critical alarm" and gets back "ack-1 was pressed". The
// package knows nothing of incidents; escalation/panel translates.
//
// Output state is kept here, never read back from the line: periph's
// gpioioctl driver silently turns an output into an input when it is read.
// Inputs are debounced in software (periph's gpioutil.Debounce ignores its
// arguments) and long presses are timed here. All timing uses the time
// package's timers so that tests run inside testing/synctest bubbles.
//
// Every output is driven to its safe state (off) when a Manager opens and
// again when it closes, so a restart or SIGTERM never leaves a siren on.
//
// GPIO lines come from a Backend: device/periph for the Linux GPIO character
// device, device/sim for the demo and tests, or any function returning
// periph gpio.PinIO values (gpiotest pins in unit tests).
package device
