package policyfile

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-relay/tocsin/escalation"
)

// flowTypes are written on one line, as in the SPEC example: they are
// short and reading them as a row is clearer than as a block.
var flowTypes = map[reflect.Type]bool{
	reflect.TypeFor[escalation.Restriction](): true,
	reflect.TypeFor[escalation.Override]():    true,
	reflect.TypeFor[escalation.Target]():      true,
	reflect.TypeFor[escalation.Heartbeat]():   true,
	reflect.TypeFor[escalation.Maintenance](): true,
	reflect.TypeFor[escalation.Webhook]():     true,
}

// Marshal writes p as YAML in the layout of docs/reference.md §4: block style, with
// short records (targets, restrictions, overrides, heartbeats) and lists
// of words on one line. Load(Marshal(p)) gives back p (normalised).
func Marshal(p *escalation.Policy) ([]byte, error) {
	n, err := encode(reflect.ValueOf(p).Elem(), false)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("policyfile: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("policyfile: encode: %w", err)
	}
	return []byte(b.String()), nil
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// encode builds the node for v; flow is true inside a one-line record.
func encode(v reflect.Value, flow bool) (*yaml.Node, error) {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		return encode(v.Elem(), flow)
	case t == timeType:
		return scalar("!!str", v.Interface().(time.Time).Format(time.RFC3339Nano)), nil
	case t == durationType:
		return scalar("!!str", v.Interface().(escalation.Duration).Short()), nil
	case t.Kind() == reflect.String:
		n := scalar("!!str", v.String())
		if needsQuotes(n.Value) {
			n.Style = yaml.DoubleQuotedStyle
		}
		return n, nil
	case t.Kind() == reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool())), nil
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10)), nil
	case t.Kind() == reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if flow || t.Elem().Kind() == reflect.String {
			n.Style = yaml.FlowStyle
		}
		for i := 0; i < v.Len(); i++ {
			c, err := encode(v.Index(i), flow)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case t.Kind() == reflect.Struct:
		flow = flow || flowTypes[t]
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if flow {
			n.Style = yaml.FlowStyle
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fv := v.Field(i)
			if strings.Contains(opts, "omitempty") && fv.IsZero() {
				continue
			}
			if fv.Kind() == reflect.Slice && fv.Len() == 0 {
				continue // absent and empty lists load the same
			}
			if fv.Kind() == reflect.Pointer && fv.IsNil() {
				continue
			}
			c, err := encode(fv, flow)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, scalar("!!str", name), c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("policyfile: cannot encode %s", t)
}

// needsQuotes reports whether s should be quoted to read back as the same
// string: it would read as another type ("09:00" is a YAML 1.1 number,
// "+819012345678" an integer) or is not plain. Strings with ":" are
// quoted too, as people write times.
func needsQuotes(s string) bool {
	if s == "" || strings.ContainsAny(s, ":#\n\"'") {
		return true
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 {
		return true
	}
	c := n.Content[0]
	return c.Kind != yaml.ScalarNode || c.ShortTag() != "!!str" || c.Value != s || c.Style != 0
}
