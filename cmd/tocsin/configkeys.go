package main

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// checkConfigKeys walks the YAML node tree of a config against the Go type
// it decodes into and reports, with the line of each, the keys the type
// does not have and scalars of the wrong kind — in the policy file's words
// (`unknown key "baudrate" in modem (known: baud, device, …)`) rather than
// yaml.v3's ("field baudrate not found in type main.ModemConfig"). It reads
// the struct tags, so fields added to Config need no change here.
func checkConfigKeys(file string, root *yaml.Node, t reflect.Type) configErrors {
	w := keyWalker{file: file}
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	w.walk(n, t, "")
	return w.errs
}

type keyWalker struct {
	file  string
	errs  configErrors
	nodes int
}

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeDuration    = reflect.TypeFor[time.Duration]()
)

func (w *keyWalker) fail(n *yaml.Node, format string, args ...any) {
	w.errs = append(w.errs, configError{File: w.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
}

func (w *keyWalker) walk(n *yaml.Node, t reflect.Type, path string) {
	if w.nodes++; w.nodes > maxConfigNodes {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(yamlUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return // decodes itself and says what is wrong
	}
	where := path
	if where == "" {
		where = "the top level"
	}
	switch {
	case t == timeDuration:
		if n.Kind != yaml.ScalarNode {
			w.fail(n, "%s: want a duration such as 30ms or 5s, not %s", path, kindName(n))
		} else if _, err := time.ParseDuration(n.Value); err != nil && n.ShortTag() != "!!int" {
			w.fail(n, "%s: %q is not a duration such as 30ms or 5s", path, n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.fail(n, "%s: want a mapping of keys to values, not %s", where, kindName(n))
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				w.walk(v, t, path) // merge key: the merged mapping's keys count here
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				names := make([]string, 0, len(fields))
				for name := range fields {
					names = append(names, name)
				}
				slices.Sort(names)
				w.fail(k, "unknown key %q in %s (known: %s)", k.Value, where, strings.Join(names, ", "))
				continue
			}
			sub := k.Value
			if path != "" {
				sub = path + "." + k.Value
			}
			w.walk(v, ft, sub)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(n, "%s: want a list, not %s", path, kindName(n))
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.fail(n, "%s: want a mapping, not %s", path, kindName(n))
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			w.walk(n.Content[i], t.Elem(), path+"."+n.Content[i-1].Value)
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.fail(n, "%s: want a single value, not %s", path, kindName(n))
		}
	case t.Kind() == reflect.Bool:
		// yaml.v3 still reads YAML 1.1's yes/no/on/off into a bool.
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" && !slices.Contains([]string{"yes", "no", "on", "off", "y", "n"}, strings.ToLower(n.Value)) {
			w.fail(n, "%s: want true or false, not %s", path, kindName(n))
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			w.fail(n, "%s: want a whole number, not %s", path, kindName(n))
		}
	}
}

// maxConfigNodes bounds the walk, as policyfile bounds its decoder, so an
// alias bomb is not followed forever.
const maxConfigNodes = 1 << 18

// kindName says what a node is, for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// yamlFields maps the YAML keys of a struct (inline fields flattened) to
// their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					m[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}
