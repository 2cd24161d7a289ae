// Package tocsin_test keeps the architecture honest: the dependency
// direction of STYLE.md and a doc comment on every package are checked here,
// so a change that breaks them fails `make test`.
package tocsin_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tocsin-relay/tocsin"

type goPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	GoFiles    []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []goPackage
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func isStd(path string) bool { return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") }

// TestDependencyDirection: the domain knows no adapter; an adapter imports
// the domain and its technology, never another adapter; the hardware
// packages know nothing of incidents; only cmd wires everything.
func TestDependencyDirection(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, imp := range p.Imports {
			own := strings.HasPrefix(imp, module+"/")
			irel := strings.TrimPrefix(imp, module+"/")
			switch {
			case rel == "escalation":
				if !isStd(imp) {
					t.Errorf("escalation (the domain) imports %s; it may use only the standard library", imp)
				}
			case strings.HasPrefix(rel, "escalation/"):
				if own && strings.HasPrefix(irel, "escalation/") && !strings.HasPrefix(irel, rel+"/") {
					t.Errorf("adapter %s imports adapter %s; adapters meet only in cmd", rel, irel)
				}
			case rel == "modem" || strings.HasPrefix(rel, "modem/"):
				if own && !strings.HasPrefix(irel, "modem") {
					t.Errorf("%s imports %s; the modem knows nothing of incidents or GPIO", rel, irel)
				}
			case rel == "device" || strings.HasPrefix(rel, "device/"):
				if own && !strings.HasPrefix(irel, "device") {
					t.Errorf("%s imports %s; the device layer knows nothing of incidents or modems", rel, irel)
				}
			}
		}
	}
}

// onlyImports lists packages held to a closed set of non-standard imports:
// the console reaches the daemon only through interfaces it declares (and
// checks password hashes with bcrypt), and the policy loader is the domain
// plus a YAML parser.
var onlyImports = map[string][]string{
	"escalation/console":    {module + "/escalation", "golang.org/x/crypto/bcrypt"},
	"escalation/status":     {module + "/escalation", module + "/modem"},
	"escalation/policyfile": {module + "/escalation", "gopkg.in/yaml.v3"},
}

// TestClosedImportSets: those packages import nothing beyond their list
// and the standard library.
func TestClosedImportSets(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		allowed, ok := onlyImports[rel]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if !isStd(imp) && !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s; it may import only %v and the standard library", rel, imp, allowed)
			}
		}
	}
}

// TestEveryPackageDocumented: every package says what it is for.
func TestEveryPackageDocumented(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) == 0 {
			continue // tests only: documented in its test files
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}

// TestCmdOnlyWires: cmd/tocsin wires parts and holds no delivery or
// supervision logic (issue 11). The daemon's wiring reads top to bottom in
// one function, serve, of about 150 lines at most; nothing in cmd/tocsin
// drives the modem, the outbox or a retry rule (the bring-up commands
// `tocsin modem` and `tocsin init`, which talk to a modem with no daemon
// running, excepted); and the status document, the policy
// lifecycle and the status-light loop live in their packages
// (escalation/status, escalation/policyfile, escalation/panel).
func TestCmdOnlyWires(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("cmd/tocsin/*.go")
	if err != nil {
		t.Fatal(err)
	}
	// Methods whose call means delivery or supervision logic.
	driving := map[string]bool{"Recover": true, "Probe": true, "Resync": true, "SendSMS": true, "Call": true,
		"Claim": true, "Finish": true, "Release": true, "RequeueInterrupted": true, "NextRetry": true,
		"NoteWaiting": true, "ApplyPolicy": true}
	// The bring-up commands, which use a modem with no daemon running.
	bringUp := map[string]bool{"modemcmd.go": true, "initcmd.go": true}
	// Declarations that moved out of cmd and must not come back.
	moved := map[string]string{"modemLink": "modem.Supervisor", "statusDoc": "escalation/status",
		"initialPolicy": "policyfile.Keeper", "applyPolicy": "policyfile.Keeper", "watchPolicyFile": "policyfile.Keeper",
		"healthLight": "panel.HealthLight"}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if where, ok := moved[n.Name.Name]; ok {
					t.Errorf("%s: %s is back in cmd; it lives in %s", fset.Position(n.Pos()), n.Name.Name, where)
				}
				if n.Name.Name == "serve" && n.Recv == nil {
					lines := fset.Position(n.End()).Line - fset.Position(n.Pos()).Line + 1
					if lines > 160 {
						t.Errorf("%s: serve is %d lines; the daemon's wiring should read top to bottom in about 150", fset.Position(n.Pos()), lines)
					}
				}
			case *ast.TypeSpec:
				if where, ok := moved[n.Name.Name]; ok {
					t.Errorf("%s: type %s is back in cmd; it lives in %s", fset.Position(n.Pos()), n.Name.Name, where)
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if ok && driving[sel.Sel.Name] && !bringUp[filepath.Base(name)] {
					t.Errorf("%s: cmd/tocsin calls %s: delivery and supervision belong to escalation/phone and modem", fset.Position(n.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}
