// Command tocsin is the on-call alert relay: `tocsin serve` runs the daemon,
// the other subcommands operate a running daemon or bring up hardware.
//
// main is the only place that handles signals: SIGINT and SIGTERM cancel the
// context every part runs under, SIGHUP asks for a policy reload.
package main

import (
	"context"
	"errors"
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
		printUsage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		if wantsHelp(rest) {
			// cmdServe's flags, for its help (serve.go parses its own).
			fs := newFlags("serve")
			fs.String("c", "", "config file (default: the demo, everything simulated)")
			printCommandHelp(stdout, "serve", fs)
			return 0
		}
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
	case "init":
		err = cmdInit(ctx, rest, os.Stdin, stdout)
	case "passwd":
		err = cmdPasswd(rest, os.Stdin, stdout)
	case "version", "--version", "-v":
		if wantsHelp(rest) {
			printCommandHelp(stdout, "version", nil)
			return 0
		}
		fmt.Fprintf(stdout, "tocsin %s (commit %s, built %s)\n", version, commit, date)
	case "help", "-h", "--help":
		if len(rest) > 0 && cmd == "help" {
			if wantsHelp(rest[:1]) {
				printCommandHelp(stdout, "help", nil)
				return 0
			}
			return run(append(rest, "--help"), stdout, stderr)
		}
		printUsage(stdout)
	case "modem":
		err = cmdModem(ctx, rest, stdout)
	case "backup":
		err = cmdBackup(ctx, rest, stdout)
	default:
		c, ok := clientCommands[cmd]
		if !ok {
			fmt.Fprintf(stderr, say("tocsin: unknown command %q\n\n", "tocsin: %q というコマンドはありません\n\n"), cmd)
			printUsage(stderr)
			return 2
		}
		err = c(ctx, rest, stdout)
	}
	if err != nil {
		if errors.Is(err, errHelpShown) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "tocsin %s: %v\n", ue.cmd, ue)
			return 2
		}
		if !errors.Is(err, errReported) {
			fmt.Fprintln(stderr, "tocsin:", err)
		}
		return 1
	}
	return 0
}
