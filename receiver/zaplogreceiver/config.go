package zaplogreceiver

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
)

// Defaults. The file input's follow filelog's, so that a filelog
// configuration moved to zaplog behaves the same.
const (
	defaultPollInterval       = 200 * time.Millisecond
	defaultForceFlushPeriod   = 500 * time.Millisecond
	defaultMaxLogSize         = 1024 * 1024
	defaultMaxConcurrentFiles = 1024
	defaultEncoding           = "utf-8"
	defaultStartAt            = "end"
)

// Config configures the zaplog receiver. At least one input (include, tcp
// or http) must be set; the parser settings apply to all of them.
type Config struct {
	// Include lists glob patterns of files to read (filelog's include).
	Include []string `mapstructure:"include"`
	// Exclude lists glob patterns of files to skip among those included.
	Exclude []string `mapstructure:"exclude"`
	// StartAt is where to start reading a file first seen: "end" (default,
	// like filelog) or "beginning". Ignored for files whose offset the
	// storage extension remembers.
	StartAt string `mapstructure:"start_at"`
	// PollInterval is how often files are checked for new lines.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// ForceFlushPeriod is how long a file or TCP connection must be quiet
	// before a last line without its newline (or a console record that may
	// still get stack trace lines) is read as complete.
	ForceFlushPeriod time.Duration `mapstructure:"force_flush_period"`
	// MaxConcurrentFiles bounds the files open at once.
	MaxConcurrentFiles int `mapstructure:"max_concurrent_files"`
	// Encoding is the files' character encoding (filelog's names: utf-8,
	// utf-16le, ascii, nop…).
	Encoding string `mapstructure:"encoding"`
	// MaxLogSize is the longest record kept whole, in bytes ("1MiB" works);
	// a longer one, on any input, is cut to this size and marked with
	// zaplog.truncated, never dropped.
	MaxLogSize helper.ByteSize `mapstructure:"max_log_size"`
	// StorageID names a storage extension (e.g. file_storage) that keeps
	// file offsets across restarts, so that nothing is lost or read twice.
	StorageID *component.ID `mapstructure:"storage"`
	// ServiceName sets the resource's service.name for records that do not
	// carry the service name field. Empty is unset.
	ServiceName string `mapstructure:"service_name"`
	// Resource sets attributes on the resource of every record this
	// receiver reads (service.namespace, service.version,
	// deployment.environment.name...), as the OpenTelemetry SDK of a
	// service exporting over OTLP sets them. An empty value is not set, so
	// "${env:X:-}" leaves the attribute out while X is unset. service.name
	// is service_name's.
	Resource map[string]string `mapstructure:"resource"`
	// ParserConfig says how lines are read.
	ParserConfig `mapstructure:",squash"`
	// TCP, when set, accepts newline-delimited records on a TCP listener.
	TCP *TCPConfig `mapstructure:"tcp"`
	// HTTP, when set, accepts NDJSON bodies POSTed to any path.
	HTTP *HTTPConfig `mapstructure:"http"`
}

// ParserConfig says how lines are read.
type ParserConfig struct {
	// Format is "auto" (default: JSON if the line starts with '{', else
	// console), "json" or "console".
	Format string `mapstructure:"format"`
	// TimeEncoding is "auto" (default) or one of zap's time encoder names:
	// "epoch" (seconds), "millis", "nanos", "iso8601", "rfc3339",
	// "rfc3339nano", plus "micros". Numbers in auto mode are read by
	// magnitude; an explicit epoch unit is needed only for times before 1973.
	TimeEncoding string `mapstructure:"time_encoding"`
	// Keys names the fields of a record.
	Keys KeysConfig `mapstructure:",squash"`
}

// KeysConfig names the fields of a zap record, as zapcore.EncoderConfig
// does. An empty key means the field is not written (zapcore.OmitKey).
type KeysConfig struct {
	// TimeKey is EncoderConfig.TimeKey ("ts").
	TimeKey string `mapstructure:"time_key"`
	// LevelKey is EncoderConfig.LevelKey ("level").
	LevelKey string `mapstructure:"level_key"`
	// MessageKey is EncoderConfig.MessageKey ("msg").
	MessageKey string `mapstructure:"message_key"`
	// CallerKey is EncoderConfig.CallerKey ("caller").
	CallerKey string `mapstructure:"caller_key"`
	// StacktraceKey is EncoderConfig.StacktraceKey ("stacktrace").
	StacktraceKey string `mapstructure:"stacktrace_key"`
	// NameKey is EncoderConfig.NameKey ("logger").
	NameKey string `mapstructure:"name_key"`
	// FunctionKey is EncoderConfig.FunctionKey (omitted by zap's presets).
	FunctionKey string `mapstructure:"function_key"`
	// TraceIDKey is the field holding the trace ID as 32 hex digits
	// ("trace_id"; traceID, traceId and trace.id are read too).
	TraceIDKey string `mapstructure:"trace_id_key"`
	// SpanIDKey is the field holding the span ID as 16 hex digits
	// ("span_id"; spanID, spanId and span.id are read too).
	SpanIDKey string `mapstructure:"span_id_key"`
	// TraceFlagsKey is the field holding the W3C trace flags ("trace_flags").
	TraceFlagsKey string `mapstructure:"trace_flags_key"`
	// ServiceNameKey is the field whose value becomes the resource's
	// service.name ("service.name"); it overrides service_name.
	ServiceNameKey string `mapstructure:"service_name_key"`
}

// TCPConfig configures the TCP input.
type TCPConfig struct {
	// Endpoint is the address to listen on, e.g. "localhost:54525".
	Endpoint string `mapstructure:"endpoint"`
}

// HTTPConfig configures the HTTP input.
type HTTPConfig struct {
	// Endpoint is the address to listen on, e.g. "localhost:54526".
	Endpoint string `mapstructure:"endpoint"`
}

var _ component.Config = (*Config)(nil)

// defaultKeys are zap's production encoder keys (zap.NewProductionEncoderConfig).
func defaultKeys() KeysConfig {
	return KeysConfig{
		TimeKey:        "ts",
		LevelKey:       "level",
		MessageKey:     "msg",
		CallerKey:      "caller",
		StacktraceKey:  "stacktrace",
		NameKey:        "logger",
		TraceIDKey:     "trace_id",
		SpanIDKey:      "span_id",
		TraceFlagsKey:  "trace_flags",
		ServiceNameKey: "service.name",
	}
}

// DefaultParserConfig reads zap's production and development output:
// automatic format and time detection with zap's production keys.
func DefaultParserConfig() ParserConfig {
	return ParserConfig{Format: FormatAuto, TimeEncoding: TimeEncodingAuto, Keys: defaultKeys()}
}

func createDefaultConfig() component.Config {
	return &Config{
		StartAt:            defaultStartAt,
		PollInterval:       defaultPollInterval,
		ForceFlushPeriod:   defaultForceFlushPeriod,
		MaxConcurrentFiles: defaultMaxConcurrentFiles,
		Encoding:           defaultEncoding,
		MaxLogSize:         defaultMaxLogSize,
		ParserConfig:       DefaultParserConfig(),
	}
}

// Validate reports every problem of the configuration at once.
func (cfg *Config) Validate() error {
	var errs []error
	if len(cfg.Include) == 0 && cfg.TCP == nil && cfg.HTTP == nil {
		errs = append(errs, errors.New("no input: set include, tcp or http"))
	}
	for _, pattern := range append(append([]string(nil), cfg.Include...), cfg.Exclude...) {
		if _, err := filepath.Match(pattern, ""); err != nil {
			errs = append(errs, fmt.Errorf("glob %q: %w", pattern, err))
		}
	}
	if cfg.StartAt != "beginning" && cfg.StartAt != "end" {
		errs = append(errs, fmt.Errorf("start_at: %q is neither \"beginning\" nor \"end\"", cfg.StartAt))
	}
	if len(cfg.Include) > 0 && cfg.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll_interval: must be positive, got %s", cfg.PollInterval))
	}
	if cfg.ForceFlushPeriod < 0 {
		errs = append(errs, fmt.Errorf("force_flush_period: must not be negative, got %s", cfg.ForceFlushPeriod))
	}
	if len(cfg.Include) > 0 && cfg.MaxConcurrentFiles < 1 {
		errs = append(errs, fmt.Errorf("max_concurrent_files: must be at least 1, got %d", cfg.MaxConcurrentFiles))
	}
	if cfg.MaxLogSize <= 0 {
		errs = append(errs, fmt.Errorf("max_log_size: must be positive, got %d", cfg.MaxLogSize))
	}
	switch cfg.Format {
	case "", FormatAuto, FormatJSON, FormatConsole:
	default:
		errs = append(errs, fmt.Errorf("format: unknown format %q (want %q, %q or %q)", cfg.Format, FormatAuto, FormatJSON, FormatConsole))
	}
	if _, err := newTimeDecoder(cfg.TimeEncoding); err != nil {
		errs = append(errs, fmt.Errorf("time_encoding: %w", err))
	}
	if cfg.Keys.LevelKey == "" && cfg.Keys.MessageKey == "" {
		errs = append(errs, errors.New("level_key and message_key: at least one must be set to recognise a zap record"))
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.Resource)) {
		switch k {
		case "":
			errs = append(errs, errors.New("resource: an attribute name is empty"))
		case AttrServiceName:
			errs = append(errs, errors.New("resource: service.name is set by service_name (or by the records' service name field)"))
		}
	}
	if cfg.TCP != nil {
		if err := validateEndpoint(cfg.TCP.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("tcp: %w", err))
		}
	}
	if cfg.HTTP != nil {
		if err := validateEndpoint(cfg.HTTP.Endpoint); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
	}
	return errors.Join(errs...)
}

func validateEndpoint(endpoint string) error {
	if _, _, err := net.SplitHostPort(endpoint); err != nil {
		return fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	return nil
}
