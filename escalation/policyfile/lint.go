package policyfile

import (
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/escalation"
)

// Warnings returns the warnings of a policy Load accepted (see
// Policy.Warnings), each at its line of data: what `tocsin check` and
// `tocsin policy check` print as "file:line: warning: message" without
// failing.
func Warnings(filename string, data []byte, p *escalation.Policy) Errors {
	line := Locate(data)
	var ws Errors
	for _, w := range p.Warnings() {
		ws = append(ws, LineError{File: filename, Line: line(w.Path), Msg: w.Error()})
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Line < ws[j].Line })
	return ws
}

// Locate returns a function giving the line of a path such as
// "escalation_policies[0].levels[1].notify[2]" in the policy data (the
// closest enclosing line where the path ends in a missing key), for
// messages about a policy that come from elsewhere, such as the config
// cross-checks of `tocsin check`.
func Locate(data []byte) func(path string) int {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return func(string) int { return 0 }
	}
	return func(path string) int { return lineOf(&root, path) }
}
