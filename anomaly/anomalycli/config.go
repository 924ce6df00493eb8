package anomalycli

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/internal/yamlpos"
)

// decodeConfig sets the fields of cfg written in the YAML file data (named
// path) and reports every problem of the file at once, each as
// file:line:col: message, through internal/yamlpos like Vigil's other YAML
// files: syntax errors where the mistake is, unknown and repeated keys,
// values of the wrong type with the field they were written for.
func decodeConfig(path string, data []byte, cfg *anomaly.Config) error {
	d := &yamlpos.Decoder{File: path}
	// Documents rather than Document: an empty file (or one of comments)
	// keeps the defaults rather than being a problem.
	docs := d.Documents(data)
	if len(docs) == 0 {
		return d.Result() // nil, or a syntax error
	}
	for _, extra := range docs[1:] {
		d.Add(extra, "this file holds one YAML document; this is a second one")
	}
	index, names := configFields()
	values, unknown := d.FieldsLenient(docs[0], "the detector config", names...)
	for _, k := range unknown {
		d.Add(k, "%s", unknownField(k.Value, names))
	}
	v := reflect.ValueOf(cfg).Elem()
	for name, n := range values {
		decodeField(d, n, name, v.Field(index[name]))
	}
	return d.Result()
}

// unknownField is the message for an unknown key. It is not
// yamlpos.UnknownField, which always lists every known key: the detector
// has some forty, and their list would bury the one suggestion that
// matters on a typo. The list is given only when no key is close.
func unknownField(key string, known []string) string {
	if s := yamlpos.Closest(key, known); s != "" {
		return fmt.Sprintf("unknown field %q; did you mean %q?", key, s)
	}
	return fmt.Sprintf("unknown field %q (known: %s)", key, strings.Join(known, ", "))
}

// configFields returns the index of each field of anomaly.Config by its
// YAML key, and the keys sorted. They are read from the struct's tags so
// that a field added to the detector is accepted here without a change.
func configFields() (map[string]int, []string) {
	t := reflect.TypeFor[anomaly.Config]()
	index := make(map[string]int, t.NumField())
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		index[name] = i
		names = append(names, name)
	}
	slices.Sort(names)
	return index, names
}

var durationType = reflect.TypeFor[time.Duration]()

// decodeField decodes node n into field f (named name), reporting a value
// of the wrong type at n.
//
// The value is decoded by yaml.v3 itself rather than by yamlpos's Float,
// Int or Duration readers, so that the values accepted stay those the CLI
// always accepted and the connector accepts for the same struct: Go
// durations ("1.5h", "90s"), where yamlpos reads Prometheus ones ("30d",
// no fractions), and YAML's number forms (".inf", "0x10"). Only the message
// of a refused value is made here: yaml.v3's names the Go type, not the
// field, and has no column.
func decodeField(d *yamlpos.Decoder, n *yaml.Node, name string, f reflect.Value) {
	// yaml.v3 truncates a fraction into an integer field (1.5 → 1); a
	// fraction where a count is wanted is a mistake to report.
	if k := f.Kind(); k >= reflect.Int && k <= reflect.Uint64 && f.Type() != durationType && n.ShortTag() == "!!float" {
		var x float64
		if err := n.Decode(&x); err != nil || x != math.Trunc(x) {
			d.Add(n, "%s", valueError(n, name, f.Type()))
			return
		}
	}
	v := reflect.New(f.Type())
	v.Elem().Set(f)
	if err := n.Decode(v.Interface()); err != nil {
		d.Add(n, "%s", valueError(n, name, f.Type()))
		return
	}
	f.Set(v.Elem())
}

// valueError says what field name wants, and what n holds instead.
func valueError(n *yaml.Node, name string, t reflect.Type) string {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	got := ""
	switch n.Kind {
	case yaml.ScalarNode:
		got = strconv.Quote(n.Value)
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			got += " (quoted, so a string)"
		}
	case yaml.MappingNode:
		got = "a mapping"
	case yaml.SequenceNode:
		got = "a list"
	default:
		got = "that"
	}
	switch {
	case t == durationType:
		msg := fmt.Sprintf("%s must be a duration like 90s, 36h or 1h30m (units ns, us, ms, s, m, h), not %s", name, got)
		// A Prometheus duration ("3d"), the form of Vigil's SLO and
		// alert files, gets its Go spelling.
		if p, err := model.ParseDuration(n.Value); err == nil && n.Kind == yaml.ScalarNode {
			msg += fmt.Sprintf("; write %s for %q", time.Duration(p), n.Value)
		}
		return msg
	case t.Kind() == reflect.Float64 || t.Kind() == reflect.Float32:
		if _, err := strconv.ParseFloat(n.Value, 64); errors.Is(err, strconv.ErrRange) && n.Kind == yaml.ScalarNode {
			return fmt.Sprintf("%s: value %q is out of range (the largest magnitude is about 1.8e308)", name, n.Value)
		}
		return fmt.Sprintf("%s must be a number, not %s", name, got)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return fmt.Sprintf("%s must be an integer, not %s", name, got)
	case t.Kind() == reflect.Bool:
		return fmt.Sprintf("%s must be true or false, not %s", name, got)
	}
	return fmt.Sprintf("%s: invalid value %s", name, got)
}
