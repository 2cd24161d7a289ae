// Command tocsin is the on-call alert relay: `tocsin serve` runs the daemon,
// the other subcommands operate a running daemon or bring up hardware.
//
// main is the only place that handles signals: SIGINT and SIGTERM cancel the
// context every part runs under, SIGHUP asks for a policy reload.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	// Schedules name IANA zones; a minimal Pi image may have no zoneinfo.
	_ "time/tzdata"
)

// Set by the linker (see Makefile).
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

const usage = `tocsin — on-call alert relay (SMS, voice, sirens) that works without the internet

Daemon:
  tocsin serve [-c FILE]              run the daemon (without -c: the demo, all simulated)
  tocsin check -c FILE                validate config and policy

Operate a running daemon (--server URL / TOCSIN_SERVER, --token-file / TOCSIN_TOKEN):
  tocsin alert --service S --summary TEXT [--severity critical|error|warning|info] [--dedup-key K] [--source SRC] [--action trigger|acknowledge|resolve]
  tocsin incidents [--status triggered|acknowledged|resolved|open] [--limit N | --all]
  tocsin show ID                      one incident with its timeline
  tocsin ack ID | resolve ID | escalate ID
  tocsin oncall [--at TIME]
  tocsin status
  tocsin policy apply FILE | export | check FILE
  tocsin drill [--service S] [--timeout 15m]   test page; waits for the ack, times each step
  tocsin report [--since 30d] [--json]   MTTA/MTTR per service, pages per person by hours
  tocsin gpio press INPUT [--long]
  tocsin sim sms FROM TEXT | sim phones   (demo: reply from a simulated phone)

Bring-up (no daemon needed):
  tocsin modem probe [--device DEV] | modem sms NUMBER TEXT | modem call NUMBER
  tocsin gpio test [-c FILE]
  tocsin backup FILE [-c FILE]

  tocsin version
`

func startCPUProfile(file string) (func(), error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		// TOCSIN_CPUPROFILE=FILE writes a CPU profile of the daemon (for
		// `go tool pprof`), stopped at shutdown.
		if f := os.Getenv("TOCSIN_CPUPROFILE"); f != "" {
			if stop, perr := startCPUProfile(f); perr == nil {
				defer stop()
			}
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		reload := make(chan struct{}, 1)
		go func() {
			for range hup {
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}()
		err = cmdServe(ctx, rest, reload)
		signal.Stop(hup)
	case "check":
		err = cmdCheck(rest, stdout)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "tocsin %s (commit %s, built %s)\n", version, commit, date)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	case "modem":
		err = cmdModem(ctx, rest, stdout)
	case "backup":
		err = cmdBackup(ctx, rest, stdout)
	default:
		c, ok := clientCommands[cmd]
		if !ok {
			fmt.Fprintf(stderr, "tocsin: unknown command %q\n\n%s", cmd, usage)
			return 2
		}
		err = c(ctx, rest, stdout)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		if !errors.Is(err, errReported) {
			fmt.Fprintln(stderr, "tocsin:", err)
		}
		return 1
	}
	return 0
}
