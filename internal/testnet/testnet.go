// Package testnet hands tests loopback addresses for servers that are
// started later, often in another process: a daemon's API, a memberlist
// pair, mosquitto, Alertmanager, an SMTP server.
//
// The usual trick, listening on port 0 and closing, races: the kernel may
// hand the same port to the next bind(0) of any test running at the same
// time — and did, when a twin's HTTP server took the port meant for the
// other box's memberlist. Addr picks ports below the kernel's ephemeral
// range, which bind(0) and outgoing connections never use, never gives the
// same port twice in one test binary, and checks that TCP and UDP are both
// free at the time.
package testnet

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// lowest is the first port Addr considers; ports below it are left to
// well-known and registered services.
const lowest = 10000

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Addr returns "127.0.0.1:PORT" where nothing listens, on TCP or UDP.
func Addr(tb testing.TB) string {
	tb.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port(tb)))
}

// Port returns a loopback port where nothing listens, on TCP or UDP.
func Port(tb testing.TB) int {
	tb.Helper()
	top := ephemeralLow()
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		p := lowest + rand.IntN(top-lowest)
		if given[p] || !free(p) {
			continue
		}
		given[p] = true
		return p
	}
	tb.Fatalf("testnet: no free loopback port in %d-%d", lowest, top-1)
	return 0
}

// free reports whether p can be bound on 127.0.0.1 for both TCP and UDP.
func free(p int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	tl, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer tl.Close()
	ul, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	ul.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range
// (32768 when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		var lo, hi int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &lo, &hi); err == nil && lo > lowest+1000 {
			return lo
		}
	}
	return 32768
}
