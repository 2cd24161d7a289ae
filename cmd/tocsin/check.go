package main

import (
	"cmp"
	"regexp"
	"slices"

	"context"
	"errors"
	"fmt"
	"github.com/tocsin-relay/tocsin/escalation"
	"gopkg.in/yaml.v3"
	"io"
	"os"
	"path/filepath"

	"github.com/tocsin-relay/tocsin/escalation/policyfile"
	"github.com/tocsin-relay/tocsin/escalation/sqlite"
)

// errReported means the errors were already printed in their own format
// (file:line: message); main only sets the exit status.
var errReported = errors.New("invalid")

// cmdCheck validates a daemon config and the policy file it names, then
// cross-checks them (crossCheck). Errors and warnings are printed as
// "file:line: [warning: ]message", sorted by file and line; only errors
// fail the check.
func cmdCheck(args []string, out io.Writer) error {
	fs := newFlags("check")
	file := fs.String("c", "", "config file (or give it as the argument)")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if *file == "" && fs.NArg() == 1 {
		*file = fs.Arg(0)
	} else if *file == "" || fs.NArg() > 0 {
		return usagef("check", "want one config file: tocsin check -c FILE")
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	cfg, root, err := parseConfigDoc(*file, data)
	if err != nil {
		var ce configErrors
		if errors.As(err, &ce) {
			fmt.Fprintln(out, ce.Error())
			return errReported
		}
		return err
	}
	cfgAt := located{File: *file, Line: configLocator(root)}
	var (
		pol    *escalation.Policy
		polAt  located
		found  []finding
		polSum string
	)
	if cfg.PolicyFile != "" {
		pdata, err := os.ReadFile(cfg.PolicyFile)
		if err != nil {
			found = append(found, cfgAt.at("policy_file", false, "policy_file: %v", err))
		} else if pol, err = policyfile.Load(cfg.PolicyFile, pdata); err != nil {
			fmt.Fprintln(out, err.Error())
			return errReported
		} else {
			polAt = located{File: cfg.PolicyFile, Line: policyfile.Locate(pdata)}
			for _, w := range policyfile.Warnings(cfg.PolicyFile, pdata, pol) {
				found = append(found, finding{File: w.File, Line: w.Line, Msg: w.Msg, Warn: true})
			}
			polSum = fmt.Sprintf("%s: ok (%d contacts, %d services, %d schedules, %d escalation policies)",
				cfg.PolicyFile, len(pol.Contacts), len(pol.Services), len(pol.Schedules), len(pol.EscalationPolicies))
		}
	} else {
		found = append(found, cfgAt.at("", true, "no policy_file: the policy comes only from `tocsin policy apply`, and the cross-checks against it are skipped"))
	}
	found = append(found, crossCheck(cfg, cfgAt, pol, polAt)...)
	return report(out, found, *file+": ok", polSum)
}

// report prints findings sorted by file and line, then the ok lines when
// there are no errors; errors make it return errReported.
func report(out io.Writer, found []finding, oks ...string) error {
	slices.SortStableFunc(found, func(a, b finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	errs, warns := 0, 0
	for _, f := range found {
		fmt.Fprintln(out, f)
		if f.Warn {
			warns++
		} else {
			errs++
		}
	}
	if errs > 0 {
		fmt.Fprintf(out, "%d error(s), %d warning(s)\n", errs, warns)
		return errReported
	}
	for _, ok := range oks {
		if ok != "" {
			fmt.Fprintln(out, ok)
		}
	}
	if warns > 0 {
		fmt.Fprintf(out, "%d warning(s)\n", warns)
	}
	return nil
}

// configLocator finds the line of a key path such as
// "mqtt.subscriptions[0].service" in a config document.
func configLocator(root *yaml.Node) func(path string) int {
	return func(path string) int {
		var parts []string
		for _, m := range pathParts.FindAllStringSubmatch(path, -1) {
			parts = append(parts, m[1]+m[2])
		}
		return nodeLine(root, parts...)
	}
}

var pathParts = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// checkPolicyFile validates a policy file, printing file:line: message
// errors and warnings.
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
	var found []finding
	for _, w := range policyfile.Warnings(file, data, p) {
		found = append(found, finding{File: w.File, Line: w.Line, Msg: w.Msg, Warn: true})
	}
	return report(out, found, fmt.Sprintf("%s: ok (%d contacts, %d services, %d schedules, %d escalation policies)",
		file, len(p.Contacts), len(p.Services), len(p.Schedules), len(p.EscalationPolicies)))
}

// cmdBackup copies the live database with SQLite's online backup.
func cmdBackup(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("backup")
	file := fs.String("c", "", "config file (default: the demo's ./tocsin-data)")
	if err := parseFlags(fs, args, out); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("backup", "want one FILE to write the copy to")
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
