package testnet

import (
	"net"
	"testing"
)

// Addresses are distinct, outside the ephemeral range, and bindable for
// both TCP and UDP, as memberlist needs.
func TestAddr(t *testing.T) {
	seen := map[string]bool{}
	top := ephemeralLow()
	for range 50 {
		a := Addr(t)
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
		_, port, _ := net.SplitHostPort(a)
		if p, _ := net.LookupPort("tcp", port); p < lowest || p >= top {
			t.Fatalf("%s outside %d-%d", a, lowest, top-1)
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		u, err := net.ListenPacket("udp", a)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		u.Close()
	}
}
