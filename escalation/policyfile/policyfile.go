// Package policyfile reads and writes the on-call policy as YAML (docs/reference.md §4).
//
// It exists so that a person editing policy.yaml is told exactly where
// they went wrong: every problem — a YAML syntax error, an unknown key, a
// value of the wrong type, and every domain error from Policy.Validate — is
// reported as "file:line: message", all of them at once, sorted by line.
// To get line numbers it decodes from yaml.v3 nodes with its own small
// reflection walker instead of yaml.Unmarshal. JSON is YAML, so the same
// loader serves PUT /api/v1/policy with either. Marshal writes YAML that
// Load reads back to an equal policy.
package policyfile

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/escalation"
)

// LineError is one problem at one line of a policy file. Line is 0 when
// the YAML parser could not say where.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors is every problem found in a policy file, sorted by line. Its
// Error is one "file:line: message" per line: what `tocsin policy check`
// prints.
type Errors []LineError

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// maxNodes bounds the work of decoding, so that aliases expanding
// exponentially ("billion laughs") are refused rather than followed.
const maxNodes = 1 << 18

// Load reads a policy from YAML or JSON, normalises it (phone numbers to
// E.164, see Policy.Normalize) and validates it. filename is used only in
// messages. On any problem it returns a nil policy and Errors listing all
// of them; unknown keys are errors.
func Load(filename string, data []byte) (*escalation.Policy, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: filename, Line: 1, Msg: "empty policy: want contacts, services, escalation_policies, …"}}
		}
		return nil, Errors{syntaxError(filename, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, Errors{{File: filename, Line: line, Msg: "a second YAML document: a policy file holds one"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, Errors{syntaxError(filename, err)}
	}

	d := &decoder{file: filename}
	var p escalation.Policy
	d.decode(&root, reflect.ValueOf(&p).Elem(), "")
	if d.tooBig {
		return nil, Errors(d.errs)
	}
	p.Normalize()
	for _, ve := range p.Validate() {
		if d.suppressed(ve.Path) {
			continue
		}
		d.errs = append(d.errs, LineError{File: filename, Line: lineOf(&root, ve.Path), Msg: ve.Error()})
	}
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		return nil, Errors(d.errs)
	}
	return &p, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(file string, err error) LineError {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return LineError{File: file, Line: n, Msg: "YAML: " + m[2]}
	}
	return LineError{File: file, Msg: "YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

type decoder struct {
	file   string
	errs   []LineError
	bad    []string // paths with decode errors: Validate's findings under them are noise
	nodes  int
	tooBig bool
}

// fail reports a problem with the value at path, written "path: message".
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.failIn(n, path, "%s", msg)
}

// failIn reports a problem inside the value at path, in its own words.
func (d *decoder) failIn(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, LineError{File: d.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
	d.bad = append(d.bad, path)
}

// suppressed reports whether path is at or under a path that failed to
// decode, so that "unknown key phon" is not followed by "phone missing".
func (d *decoder) suppressed(path string) bool {
	for _, b := range d.bad {
		if b == "" || path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[escalation.Duration]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.tooBig {
		return
	}
	if d.nodes++; d.nodes > maxNodes {
		d.tooBig = true
		d.errs = append(d.errs, LineError{File: d.file, Line: n.Line, Msg: "document too large (aliases expand too far)"})
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			d.decode(n.Content[0], v, path)
		}
		return
	case yaml.AliasNode:
		d.decode(n.Alias, v, path)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // leave the zero value
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case t == timeType:
		if s, ok := d.scalar(n, path, "a time such as 2026-12-01T18:00:00+09:00"); ok {
			tm, err := time.Parse(time.RFC3339, s)
			if err != nil {
				d.fail(n, path, "%q is not an RFC 3339 time such as 2026-12-01T18:00:00+09:00", s)
				return
			}
			v.Set(reflect.ValueOf(tm))
		}
	case t == durationType:
		if s, ok := d.scalar(n, path, "a duration such as 5m"); ok {
			if tag := n.ShortTag(); tag == "!!int" || tag == "!!float" {
				// JSON clients may send seconds, as Duration.UnmarshalJSON accepts.
				f, err := strconv.ParseFloat(s, 64)
				if err != nil || f < 0 || f > float64(1<<62)/float64(time.Second) {
					d.fail(n, path, "%s is not a number of seconds; write a duration such as 5m", s)
					return
				}
				v.SetInt(int64(f * float64(time.Second)))
				return
			}
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				d.fail(n, path, "%v", err)
			}
		}
	case reflect.PointerTo(t).Implements(textType) && t.Kind() != reflect.String:
		if s, ok := d.scalar(n, path, "a single value"); ok {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				d.fail(n, path, "%v", err)
			}
		}
	case t.Kind() == reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case t.Kind() == reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			switch s {
			case "true", "True", "TRUE":
				v.SetBool(true)
			case "false", "False", "FALSE":
				v.SetBool(false)
			default:
				d.fail(n, path, "%q: want true or false", s)
			}
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		if s, ok := d.scalar(n, path, "a whole number"); ok {
			i, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				d.fail(n, path, "%q: want a whole number", s)
				return
			}
			v.SetInt(i)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, such as %s", exampleOf(path, t.Elem()))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case t.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	default:
		d.fail(n, path, "cannot decode into %s", t) // a programming error: a new field type
	}
}

// listExamples show what a list field holds, by key.
var listExamples = map[string]string{
	"via":     "[sms, voice]",
	"members": "[tanaka, suzuki]",
	"days":    "[mon, tue, wed, thu, fri]",
}

func exampleOf(path string, elem reflect.Type) string {
	key := path[strings.LastIndex(path, ".")+1:]
	if ex, ok := listExamples[key]; ok {
		return ex
	}
	if elem.Kind() == reflect.Struct {
		return "[{…}, {…}]"
	}
	return "[…]"
}

// scalar returns the text of a scalar node, or reports that one was wanted.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		what := "a list"
		if n.Kind == yaml.MappingNode {
			what = "a mapping"
		}
		d.fail(n, path, "want %s, not %s", want, what)
		return "", false
	}
	return n.Value, true
}

// structFields maps YAML keys to field indexes, in declaration order.
func structFields(t reflect.Type) (map[string]int, []string) {
	m := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
		names = append(names, name)
	}
	return m, names
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		what := "a list"
		if n.Kind == yaml.ScalarNode {
			what = fmt.Sprintf("%q", n.Value)
		}
		d.fail(n, path, "want a mapping of keys to values, not %s", what)
		return
	}
	fields, names := structFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.merge(val, v, path)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "a key must be a plain word")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.fail(k, path, "key %q given twice (first on line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			// Validation findings inside the mapping are likely caused by
			// the misspelt key; at the top level only the key's own are.
			where, owner := path, path
			if path == "" {
				where, owner = "the top level", k.Value
			}
			d.failIn(k, owner, "unknown key %q in %s (known: %s)", k.Value, where, strings.Join(names, ", "))
			continue
		}
		sub := k.Value
		if path != "" {
			sub = path + "." + k.Value
		}
		d.decode(val, v.Field(idx), sub)
	}
}

// merge applies YAML merge keys ("<<: *defaults"): a mapping or a list of
// mappings whose keys are decoded as if written here.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.mapping(n, v, path)
	case yaml.SequenceNode:
		for _, c := range n.Content {
			d.merge(c, v, path)
		}
	default:
		d.fail(n, path, "<< merges a mapping, not a single value")
	}
}

var pathPart = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// lineOf finds the line of path ("escalation_policies[0].levels[1].after")
// in the document; where the path ends in a missing key it is the line of
// the closest enclosing node.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	line := n.Line
	for _, m := range pathPart.FindAllStringSubmatch(path, -1) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		var next *yaml.Node
		if m[1] != "" && n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == m[1] {
					next = n.Content[i+1]
					break
				}
			}
		} else if m[2] != "" && n.Kind == yaml.SequenceNode {
			if i, err := strconv.Atoi(m[2]); err == nil && i < len(n.Content) {
				next = n.Content[i]
			}
		}
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return line
}
