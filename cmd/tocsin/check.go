package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// errReported means the errors were already printed in their own format
// (file:line: message); main only sets the exit status.
var errReported = errors.New("invalid")

// cmdCheck validates a daemon config and the policy file it names.
func cmdCheck(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	file := fs.String("c", "", "config file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		if fs.NArg() == 1 {
			*file = fs.Arg(0)
		} else {
			return errors.New("usage: tocsin check -c FILE")
		}
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		var ce configErrors
		if errors.As(err, &ce) {
			fmt.Fprintln(out, ce.Error())
			return errReported
		}
		return err
	}
	if _, err := cfg.tokens(); err != nil {
		fmt.Fprintf(out, "%s: %v\n", *file, err)
		return errReported
	}
	if cfg.PolicyFile != "" {
		if err := checkPolicyFile(cfg.PolicyFile, out); err != nil {
			return err
		}
		return nil
	}
	fmt.Fprintf(out, "%s: ok\n", *file)
	return nil
}

// checkPolicyFile validates a policy file, printing file:line: message
// errors.
func checkPolicyFile(file string, out io.Writer) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	p, err := policyfile.Load(file, data)
	if err != nil {
		fmt.Fprintln(out, err.Error())
		return errReported
	}
	fmt.Fprintf(out, "%s: ok (%d contacts, %d services, %d schedules, %d escalation policies)\n",
		file, len(p.Contacts), len(p.Services), len(p.Schedules), len(p.EscalationPolicies))
	return nil
}

// cmdBackup copies the live database with SQLite's online backup.
func cmdBackup(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	file := fs.String("c", "", "config file (default: the demo's ./tocsin-data)")
	if err := fs.Parse(reorderValue(args, "c")); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: tocsin backup FILE [-c CONFIG]")
	}
	stateDir := "./tocsin-data"
	if *file != "" {
		cfg, err := loadConfig(*file)
		if err != nil {
			return err
		}
		stateDir = cfg.StateDir
	}
	src := filepath.Join(stateDir, "tocsin.db")
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no database at %s: %w", src, err)
	}
	db, err := sqlite.Open(ctx, src)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(out, "backed up %s to %s\n", src, fs.Arg(0))
	return nil
}

// reorderValue moves "-name VALUE" pairs to the front of args.
func reorderValue(args []string, names ...string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		matched := false
		for _, n := range names {
			if a == "-"+n || a == "--"+n {
				flags = append(flags, a)
				if i+1 < len(args) {
					flags = append(flags, args[i+1])
					i++
				}
				matched = true
			}
		}
		if !matched {
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}
