package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The default labels and the resource attributes they come from
// (OpenTelemetry semantic conventions).
const (
	labelServiceName           = "service_name"
	labelServiceNamespace      = "service_namespace"
	labelDeploymentEnvironment = "deployment_environment"
	labelLevel                 = "level"

	attrServiceName      = "service.name"
	attrServiceNamespace = "service.namespace"
	// attrDeploymentEnvironmentName is the current convention;
	// attrDeploymentEnvironment the deprecated one many SDKs still send.
	attrDeploymentEnvironmentName = "deployment.environment.name"
	attrDeploymentEnvironment     = "deployment.environment"

	// unknownServiceName is what OpenTelemetry SDKs report without
	// service.name; using it keeps service_name always present, so Loki has
	// no reason to invent one.
	unknownServiceName = "unknown_service"
)

// Names of the structured metadata the exporter sets itself.
const (
	metadataTraceID      = "trace_id"
	metadataSpanID       = "span_id"
	metadataSeverityText = "severity_text"
)

// levelOf maps a record's severity to Loki's level values (those Grafana's
// log views colour): trace, debug, info, warn, error, fatal. The severity
// number wins; without one the text is matched, so zap's "dpanic" or a
// logger's "WARNING" still land on a known level. It returns "" when neither
// says anything, and the level label is then left out.
func levelOf(lr plog.LogRecord) string {
	switch n := lr.SeverityNumber(); {
	case n >= plog.SeverityNumberTrace && n <= plog.SeverityNumberTrace4:
		return "trace"
	case n >= plog.SeverityNumberDebug && n <= plog.SeverityNumberDebug4:
		return "debug"
	case n >= plog.SeverityNumberInfo && n <= plog.SeverityNumberInfo4:
		return "info"
	case n >= plog.SeverityNumberWarn && n <= plog.SeverityNumberWarn4:
		return "warn"
	case n >= plog.SeverityNumberError && n <= plog.SeverityNumberError4:
		return "error"
	case n >= plog.SeverityNumberFatal && n <= plog.SeverityNumberFatal4:
		return "fatal"
	}
	switch t := strings.ToLower(strings.TrimSpace(lr.SeverityText())); {
	case t == "":
		return ""
	case strings.HasPrefix(t, "trace"):
		return "trace"
	case strings.HasPrefix(t, "debug"):
		return "debug"
	case strings.HasPrefix(t, "info"), t == "notice":
		return "info"
	case strings.HasPrefix(t, "warn"):
		return "warn"
	case strings.HasPrefix(t, "err"):
		return "error"
	case t == "fatal", t == "critical", t == "crit", t == "panic", t == "dpanic", t == "emergency", t == "alert":
		return "fatal"
	}
	return ""
}

// labelPair is one stream label.
type labelPair struct{ name, value string }

// labelSet collects a stream's labels. Names are unique by construction
// (config validation), so set only has to keep them sorted.
type labelSet []labelPair

// set adds or replaces a label, keeping the set sorted by name. Label sets
// are small (at most 15), so insertion into a slice beats a map.
func (ls labelSet) set(name, value string) labelSet {
	value = labelValue(value)
	i := 0
	for i < len(ls) && ls[i].name < name {
		i++
	}
	if i < len(ls) && ls[i].name == name {
		ls[i].value = value
		return ls
	}
	ls = append(ls, labelPair{})
	copy(ls[i+1:], ls[i:])
	ls[i] = labelPair{name, value}
	return ls
}

// String formats the set the way Loki's push API expects it (and Prometheus
// prints it): {a="x", b="y"}, values quoted with Go escapes, which Loki's
// label parser reads back.
func (ls labelSet) String() string {
	return string(ls.appendTo(make([]byte, 0, 64)))
}

func (ls labelSet) appendTo(b []byte) []byte {
	b = append(b, '{')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, l.name...)
		b = append(b, '=')
		b = appendLabelValue(b, l.value)
	}
	return append(b, '}')
}

// appendLabelValue quotes a label value for Loki's label parser, with Go
// escapes, which it reads back.
func appendLabelValue(b []byte, v string) []byte {
	return strconv.AppendQuote(b, v)
}

// labelReplacement stands for what Loki's label parser refuses in a value:
// invalid UTF-8 and U+FFFD itself, which the parser takes for a decoding
// error whether written as the character or as the escape \ufffd (Loki
// 3.7 answers 400 "invalid UTF-8 rune" and refuses the whole push, every
// stream in it). A plain '?' is accepted and still reads as "a character
// was lost here".
const labelReplacement = "?"

// labelValue makes a value acceptable to Loki: valid UTF-8 without U+FFFD,
// and at most lokiMaxLabelValueLength bytes (Loki rejects the whole push
// otherwise).
func labelValue(v string) string {
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, labelReplacement)
	}
	if strings.ContainsRune(v, utf8.RuneError) {
		v = strings.ReplaceAll(v, string(utf8.RuneError), labelReplacement)
	}
	if len(v) > lokiMaxLabelValueLength {
		v = v[:runeStart(v, lokiMaxLabelValueLength)]
	}
	return v
}

// runeStart returns the largest index <= n that starts a rune in s, so that
// s[:index] never ends in a partial UTF-8 sequence.
func runeStart(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
