package zaplogreceiver

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attribute names the receiver writes on log records.
const (
	// AttrLoggerName holds the zap logger name (Logger.Named), which zap
	// writes under name_key ("logger" in the production config).
	AttrLoggerName = "logger.name"
	// AttrCodeFilepath and AttrCodeLineno hold the two halves of zap's caller.
	AttrCodeFilepath = "code.filepath"
	AttrCodeLineno   = "code.lineno"
	// AttrCodeFunction holds the caller's function (function_key).
	AttrCodeFunction = "code.function"
	// AttrExceptionStacktrace holds zap's stacktrace.
	AttrExceptionStacktrace = "exception.stacktrace"
	// AttrParseError is set, with the reason, on a record whose line was not
	// a zap record; the body then holds the line as read.
	AttrParseError = "zaplog.parse_error"
	// AttrTruncated is true on a record whose line exceeded max_log_size.
	AttrTruncated = "zaplog.truncated"
	// AttrLogFilePath is the path of the file a record was read from.
	AttrLogFilePath = "log.file.path"
	// AttrServiceName is the resource attribute for the service.
	AttrServiceName = "service.name"
)

// Formats of input lines.
const (
	// FormatAuto reads a line starting with '{' as zap's JSON encoder output
	// and anything else as its console encoder output.
	FormatAuto = "auto"
	// FormatJSON reads only JSON lines; anything else is a parse error.
	FormatJSON = "json"
	// FormatConsole reads only console lines (tab-separated, with following
	// stack trace lines joined to the record).
	FormatConsole = "console"
)

var (
	errNotZapRecord = errors.New("not a zap record: no level or message field")
	errNotObject    = errors.New("not a zap record: not a JSON object")
	errNotConsole   = errors.New("not a zap record: neither JSON nor a console line with a level")
	errInvalidUTF8  = errors.New("line is not valid UTF-8")
	errTrailingData = errors.New("invalid JSON: data after the closing brace")
	errHeadlessDump = errors.New("not a zap record: goroutine stacks without the panic, fatal error or signal line that starts a Go crash report")
)

// fieldKind says what a top-level key of a zap record means.
type fieldKind uint8

const (
	fieldAttribute fieldKind = iota
	fieldTime
	fieldLevel
	fieldMessage
	fieldCaller
	fieldFunction
	fieldStacktrace
	fieldName
	fieldTraceID
	fieldSpanID
	fieldTraceFlags
	fieldServiceName
)

// maxKeyLen bounds the zap keys the parser recognises by length lookup;
// longer configured keys fall back to the map.
const maxKeyLen = 32

type keyKind struct {
	key  string
	kind fieldKind
}

// kindOf says what a top-level key means.
func (p *Parser) kindOf(key []byte) fieldKind {
	if len(key) > maxKeyLen {
		return p.keys[string(key)]
	}
	for _, kk := range p.byLen[len(key)] {
		if kk.key == string(key) {
			return kk.kind
		}
	}
	return fieldAttribute
}

// Result reports what Parse learned beyond the log record itself.
type Result struct {
	// ServiceName is the value of the service name field, if the record had one.
	ServiceName string
	// Err is the reason the line was kept raw, nil if it parsed.
	Err error
}

// Parser turns zap output into log records. It is safe for concurrent use:
// it holds only configuration.
type Parser struct {
	format string
	times  timeDecoder
	keys   map[string]fieldKind
	// byLen holds keys by length: comparing a handful of same-length
	// strings beats hashing every key of every line.
	byLen [maxKeyLen + 1][]keyKind
	// has says which zap keys are configured (not omitted), which tells the
	// console reader which positional elements to expect.
	has [fieldServiceName + 1]bool
	// timeKey names the attribute for a console time it cannot read.
	timeKey string
}

// NewParser builds a parser for cfg. It reports an unknown format or time
// encoding.
func NewParser(cfg ParserConfig) (*Parser, error) {
	times, err := newTimeDecoder(cfg.TimeEncoding)
	if err != nil {
		return nil, err
	}
	format := cfg.Format
	switch format {
	case "":
		format = FormatAuto
	case FormatAuto, FormatJSON, FormatConsole:
	default:
		return nil, fmt.Errorf("unknown format %q (want %q, %q or %q)", format, FormatAuto, FormatJSON, FormatConsole)
	}
	p := &Parser{format: format, times: times, keys: cfg.Keys.fieldKinds(), timeKey: cfg.Keys.TimeKey}
	for key, kind := range p.keys {
		p.has[kind] = true
		if len(key) <= maxKeyLen {
			p.byLen[len(key)] = append(p.byLen[len(key)], keyKind{key, kind})
		}
	}
	return p, nil
}

// fieldKinds maps every key to its meaning. With zap's production keys
// (the defaults) the development encoder config's one-letter keys are
// recognised too, so NewDevelopmentEncoderConfig output with a JSON encoder
// reads with no tuning. The trace context keys also accept the spellings
// in common use (traceID, traceId, trace.id) unless overridden.
func (k KeysConfig) fieldKinds() map[string]fieldKind {
	m := make(map[string]fieldKind)
	put := func(key string, kind fieldKind) {
		if key == "" {
			return // zapcore.OmitKey: the field is not written
		}
		if _, taken := m[key]; !taken {
			m[key] = kind
		}
	}
	put(k.TimeKey, fieldTime)
	put(k.LevelKey, fieldLevel)
	put(k.MessageKey, fieldMessage)
	put(k.CallerKey, fieldCaller)
	put(k.FunctionKey, fieldFunction)
	put(k.StacktraceKey, fieldStacktrace)
	put(k.NameKey, fieldName)
	put(k.TraceIDKey, fieldTraceID)
	put(k.SpanIDKey, fieldSpanID)
	put(k.TraceFlagsKey, fieldTraceFlags)
	put(k.ServiceNameKey, fieldServiceName)
	def := defaultKeys()
	if k.TimeKey == def.TimeKey && k.LevelKey == def.LevelKey && k.MessageKey == def.MessageKey {
		for key, kind := range map[string]fieldKind{
			"T": fieldTime, "L": fieldLevel, "M": fieldMessage, "C": fieldCaller,
			"S": fieldStacktrace, "N": fieldName,
		} {
			put(key, kind)
		}
	}
	if k.TraceIDKey == def.TraceIDKey {
		put("traceID", fieldTraceID)
		put("traceId", fieldTraceID)
		put("trace.id", fieldTraceID)
	}
	if k.SpanIDKey == def.SpanIDKey {
		put("spanID", fieldSpanID)
		put("spanId", fieldSpanID)
		put("span.id", fieldSpanID)
	}
	if k.TraceFlagsKey == def.TraceFlagsKey {
		put("traceFlags", fieldTraceFlags)
		put("trace.flags", fieldTraceFlags)
	}
	return m
}

// Parse fills lr, which must be empty, from one line (for the console
// format: one record with its continuation lines; for a Go crash report, the
// whole report, which becomes a FATAL record: parseCrash). It always
// produces a record: when the line is not a zap record, lr holds the line as
// its body (bytes if it is not UTF-8) and AttrParseError says why, and
// Result.Err is that error.
func (p *Parser) Parse(line []byte, lr plog.LogRecord) Result {
	trimmed := bytes.TrimSpace(line)
	var res Result
	switch {
	case len(line) > 0 && line[0] != '{' && isCrashReport(line):
		parseCrash(line, lr, false)
		return res
	case !utf8.Valid(trimmed):
		res.Err = errInvalidUTF8
	case len(trimmed) > 0 && trimmed[0] == '{' && p.format != FormatConsole:
		res.ServiceName, res.Err = p.parseJSON(trimmed, lr)
	case isHeadlessDump(trimmed):
		res.Err = errHeadlessDump
	case p.format == FormatJSON:
		res.Err = errNotObject
	default:
		res.ServiceName, res.Err = p.parseConsole(trimmed, lr)
	}
	if res.Err != nil {
		res.ServiceName = ""
		setRaw(line, lr, res.Err)
	}
	return res
}

// setRaw resets lr to hold the line as read, marked with the parse error
// if there is one.
func setRaw(line []byte, lr plog.LogRecord, err error) {
	lr.Attributes().Clear()
	lr.SetTimestamp(0)
	lr.SetSeverityNumber(plog.SeverityNumberUnspecified)
	lr.SetSeverityText("")
	lr.SetTraceID(pcommon.NewTraceIDEmpty())
	lr.SetSpanID(pcommon.NewSpanIDEmpty())
	lr.SetFlags(0)
	if utf8.Valid(line) {
		lr.Body().SetStr(string(line))
	} else {
		lr.Body().SetEmptyBytes().FromRaw(line)
	}
	if err != nil {
		lr.Attributes().PutStr(AttrParseError, err.Error())
	}
}

// parseJSON reads a line written by zap's JSON encoder.
func (p *Parser) parseJSON(line []byte, lr plog.LogRecord) (string, error) {
	s := jsonScanner{data: line}
	service, zapFields, err := p.object(&s, lr, false)
	if err != nil {
		return "", err
	}
	if s.peek() != 0 {
		return "", errTrailingData
	}
	if !zapFields {
		return "", errNotZapRecord
	}
	return service, nil
}

// object reads a top-level object, applying the zap keys. zap writes its
// entry fields once, before (stacktrace: after) the context fields, and does
// not deduplicate keys; so only the first occurrence of a zap key is taken
// as such and a later one (zap.String("msg", …)) stays an attribute.
// In a console line's context object (contextOnly) the entry keys are
// ordinary attributes, since the entry fields were in the tab-separated part.
func (p *Parser) object(s *jsonScanner, lr plog.LogRecord, contextOnly bool) (service string, zapFields bool, err error) {
	if err = s.expect('{'); err != nil {
		return "", false, err
	}
	attrs := lr.Attributes()
	attrs.EnsureCapacity(8)
	if s.peek() == '}' {
		s.pos++
		return "", false, nil
	}
	var seen uint32
	for {
		key, err := s.str()
		if err != nil {
			return "", false, err
		}
		if err = s.expect(':'); err != nil {
			return "", false, err
		}
		kind := p.kindOf(key)
		if contextOnly && kind < fieldTraceID {
			kind = fieldAttribute
		}
		if kind != fieldAttribute && seen&(1<<kind) != 0 {
			kind = fieldAttribute
		}
		seen |= 1 << kind
		handled := false
		if kind != fieldAttribute {
			handled, err = p.special(s, lr, kind, &service)
			if err != nil {
				return "", false, err
			}
			if handled && (kind == fieldLevel || kind == fieldMessage) {
				zapFields = true
			}
		}
		if !handled {
			if err = s.value(attrs.PutEmpty(string(key)), 1); err != nil {
				return "", false, err
			}
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return service, zapFields, nil
		default:
			return "", false, s.syntaxError("expected ',' or '}'")
		}
	}
}

// special applies a zap key's value to lr. It reports false, having
// consumed nothing, when the value does not have the expected form (a
// numeric "msg", say), so that the caller keeps it as an attribute.
func (p *Parser) special(s *jsonScanner, lr plog.LogRecord, kind fieldKind, service *string) (bool, error) {
	c := s.peek()
	if kind == fieldTime && (c == '-' || isDigit(c)) {
		start := s.pos
		raw, _, err := s.number()
		if err != nil {
			return false, err
		}
		if ns, ok := p.times.fromNumber(raw); ok {
			lr.SetTimestamp(pcommon.Timestamp(ns)) //nolint:gosec // non-negative
			return true, nil
		}
		s.pos = start
		return false, nil
	}
	if kind == fieldTraceFlags && isDigit(c) {
		start := s.pos
		raw, isInt, err := s.number()
		if err != nil {
			return false, err
		}
		if n, ok := parseInt(raw); isInt && ok && n >= 0 && n <= 0xff {
			lr.SetFlags(plog.LogRecordFlags(n)) //nolint:gosec // bounded
			return true, nil
		}
		s.pos = start
		return false, nil
	}
	if c != '"' {
		return false, nil
	}
	start := s.pos
	v, err := s.str()
	if err != nil {
		return false, err
	}
	if p.applyString(v, lr, kind, service) {
		return true, nil
	}
	s.pos = start
	return false, nil
}

// applyString applies a string value of a zap key; false leaves lr as it was.
func (p *Parser) applyString(v []byte, lr plog.LogRecord, kind fieldKind, service *string) bool {
	switch kind {
	case fieldTime:
		ns, ok := p.times.fromString(v)
		if !ok || ns < 0 {
			return false
		}
		lr.SetTimestamp(pcommon.Timestamp(ns))
	case fieldLevel:
		setLevel(v, lr)
	case fieldMessage:
		lr.Body().SetStr(string(v))
	case fieldCaller:
		setCaller(v, lr.Attributes())
	case fieldFunction:
		lr.Attributes().PutStr(AttrCodeFunction, string(v))
	case fieldStacktrace:
		lr.Attributes().PutStr(AttrExceptionStacktrace, string(v))
	case fieldName:
		lr.Attributes().PutStr(AttrLoggerName, string(v))
	case fieldTraceID:
		var id [16]byte
		if len(v) != 32 || !decodeHex(id[:], v) {
			return false
		}
		lr.SetTraceID(id)
	case fieldSpanID:
		var id [8]byte
		if len(v) != 16 || !decodeHex(id[:], v) {
			return false
		}
		lr.SetSpanID(id)
	case fieldTraceFlags:
		var f [1]byte
		if len(v) != 2 || !decodeHex(f[:], v) {
			return false
		}
		lr.SetFlags(plog.LogRecordFlags(f[0]))
	case fieldServiceName:
		*service = string(v)
	default:
		return false
	}
	return true
}

func decodeHex(dst, src []byte) bool {
	_, err := hex.Decode(dst, src)
	return err == nil
}

// setLevel sets severity from a zap level; an unknown level keeps its text.
func setLevel(v []byte, lr plog.LogRecord) {
	if l, ok := lookupLevel(v); ok {
		lr.SetSeverityNumber(l.severity)
		lr.SetSeverityText(l.text)
		return
	}
	lr.SetSeverityText(string(v))
}

// setCaller splits zap's "path/file.go:42" at the last colon.
func setCaller(v []byte, attrs pcommon.Map) {
	if i := bytes.LastIndexByte(v, ':'); i > 0 {
		if n, err := strconv.ParseInt(string(v[i+1:]), 10, 64); err == nil {
			attrs.PutStr(AttrCodeFilepath, string(v[:i]))
			attrs.PutInt(AttrCodeLineno, n)
			return
		}
	}
	attrs.PutStr(AttrCodeFilepath, string(v))
}
