package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-otel/vigil/internal/httpexport"

	"github.com/golang/snappy"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/grafana/loki/pkg/push"

	"github.com/vigil-otel/vigil/internal/exporthealth"
)

const (
	headerTenant     = "X-Scope-OrgID"
	contentTypeProto = "application/x-protobuf"
)

// lokiExporter sends converted batches to Loki's push API.
type lokiExporter struct {
	cfg       *Config
	conv      *converter
	url       string
	logger    *zap.Logger
	settings  component.TelemetrySettings
	telemetry *telemetry
	userAgent string
	client    *http.Client
	hints     *hintWarner
	health    exporthealth.Reporter

	// rawPool recycles the buffers requests are marshalled into before
	// compression; the compressed body is not pooled because the HTTP
	// transport may still read it after Do returns.
	rawPool sync.Pool
}

func newExporter(cfg *Config, set exporter.Settings) (*lokiExporter, error) {
	u, err := pushURL(cfg.ClientConfig.Endpoint)
	if err != nil {
		return nil, err
	}
	conv, err := newConverter(cfg)
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &lokiExporter{
		cfg:       cfg,
		conv:      conv,
		url:       u,
		logger:    set.Logger,
		settings:  set.TelemetrySettings,
		telemetry: tel,
		userAgent: fmt.Sprintf("%s/%s", set.BuildInfo.Command, set.BuildInfo.Version),
		hints:     &hintWarner{logger: set.Logger},
	}, nil
}

// start builds the HTTP client; it needs the host's extensions for auth.
func (e *lokiExporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return err
	}
	e.client = client
	e.health.Start(host, e.logger)
	return nil
}

// pushLogs converts, encodes and sends one batch.
func (e *lokiExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	e.hints.check(ld)
	batch := e.conv.convert(ld)
	if batch.entries == 0 {
		return nil
	}
	body, err := e.encode(&batch.req)
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("encoding the push request: %w", err))
	}
	err = e.send(ctx, body)
	var rej *rejectedError
	switch {
	case err == nil:
		e.telemetry.recordDelivered(ctx, batch)
	case errors.As(err, &rej) && rej.partOf(batch.entries):
		// Loki stored the rest: the push counts as sent for
		// exporterhelper, which counts a request all sent or all failed,
		// and the entries Loki ignored are counted here.
		for _, ig := range rej.ignored {
			e.telemetry.recordRejected(ctx, ig.reason, ig.entries)
		}
		e.logger.Warn("Loki ignored part of a push; the rest is stored",
			zap.Int("status", rej.status), zap.String("reason", rej.reason),
			zap.Int("ignored", rej.ignoredTotal()), zap.Int("entries", batch.entries),
			zap.String("message", rej.message))
		err = nil
	case errors.As(err, &rej):
		e.telemetry.recordRejected(ctx, rej.reason, batch.entries)
		e.logger.Warn("Loki rejected a push; the batch is dropped",
			zap.Int("status", rej.status), zap.String("reason", rej.reason),
			zap.Int("entries", batch.entries), zap.String("message", rej.message))
	case !consumererror.IsPermanent(err):
		e.telemetry.recordRetried(ctx, retryReason(err))
	}
	return e.health.Observe(err)
}

// encode marshals req and compresses it with snappy's block format, as the
// push API requires.
func (e *lokiExporter) encode(req *push.PushRequest) ([]byte, error) {
	return encodePushRequest(req, &e.rawPool)
}

// encodePushRequest is encode without the exporter, for benchmarks and tests.
func encodePushRequest(req *push.PushRequest, pool *sync.Pool) ([]byte, error) {
	size := req.Size()
	var raw []byte
	if p, ok := pool.Get().(*[]byte); ok && cap(*p) >= size {
		raw = (*p)[:size]
	} else {
		raw = make([]byte, size)
	}
	n, err := req.MarshalToSizedBuffer(raw)
	if err != nil {
		return nil, err
	}
	out := snappy.Encode(nil, raw[len(raw)-n:])
	pool.Put(&raw)
	return out, nil
}

// send posts one compressed request and classifies the outcome: nil on 2xx,
// a permanent *rejectedError on 4xx other than 408 and 429, a throttle
// (Retry-After) or plain retryable error otherwise.
func (e *lokiExporter) send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req.Header.Set("Content-Type", contentTypeProto)
	req.Header.Set("User-Agent", e.userAgent)
	if e.cfg.TenantID != "" {
		req.Header.Set(headerTenant, e.cfg.TenantID)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		// The error names the URL; the client never puts credentials in it
		// (auth comes from extensions or headers, not the endpoint).
		return fmt.Errorf("pushing to Loki: %w", err)
	}
	defer resp.Body.Close()
	if httpexport.Classify(resp.StatusCode) == httpexport.Success {
		httpexport.Drain(resp.Body)
		return nil
	}
	// Loki answers with one plain-text line per problem. The whole body
	// is read, up to a bound, for the counts of ignored entries it may
	// state; the error keeps its start.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxRejectionBody+1))
	httpexport.Drain(resp.Body)
	err = classify(resp.StatusCode, resp.Header, httpexport.ErrorMessage(answer), time.Now())
	var rej *rejectedError
	if resp.StatusCode == http.StatusBadRequest && len(answer) <= maxRejectionBody && errors.As(err, &rej) {
		rej.ignored = ignoredEntries(string(answer))
	}
	return err
}

// maxRejectionBody bounds how much of a refusal's body is read for the
// counts of ignored entries: Loki lists at most 10 entries per stream
// (max_returned_stream_errors) before a stream's count, and one line per
// distinct problem the distributor found. A longer body is counted as the
// whole batch.
const maxRejectionBody = 256 << 10

// rejectedError is a push Loki refused for good (a 4xx other than 408 and
// 429): retrying would send the same data and fail the same way.
type rejectedError struct {
	status  int
	reason  string
	message string
	// ignored are the entries Loki says it ignored, by reason, when its
	// answer states a count for every problem it lists; nil otherwise.
	ignored []ignored
}

// ignored is a count of entries Loki ignored, for one reason.
type ignored struct {
	reason  string
	entries int
}

func (e *rejectedError) ignoredTotal() int {
	n := 0
	for _, ig := range e.ignored {
		n += ig.entries
	}
	return n
}

// partOf reports whether Loki ignored only part of a push of entries
// entries, so that it stored the rest.
func (e *rejectedError) partOf(entries int) bool {
	n := e.ignoredTotal()
	return n > 0 && n < entries
}

func (e *rejectedError) Error() string {
	return fmt.Sprintf("push rejected by Loki with HTTP %d (%s): %s", e.status, e.reason, e.message)
}

// serverError is a retryable answer: 429, 408 or 5xx.
type serverError struct {
	status  int
	message string
}

func (e *serverError) Error() string {
	return fmt.Sprintf("push to Loki failed with HTTP %d: %s", e.status, e.message)
}

// classify turns a non-2xx response into the error exporterhelper acts on
// (httpexport.ResponseError): 429, 408 and 5xx are retried, after
// Retry-After when Loki sends one; every other status is permanent, and
// counted under Loki's own discard reason.
func classify(status int, h http.Header, message string, now time.Time) error {
	var err error = &rejectedError{status: status, reason: rejectReason(status, message), message: message}
	if httpexport.Classify(status) == httpexport.Retryable {
		err = &serverError{status: status, message: message}
	}
	return httpexport.ResponseError(status, h, err, now)
}

// rejectReasons maps fragments of Loki's error messages to Loki's own
// discard reasons (pkg/validation/validate.go), so the exporter's counter
// lines up with Loki's loki_discarded_samples_total{reason}.
var rejectReasons = []struct{ fragment, reason string }{
	{"timestamp too old", "greater_than_max_sample_age"},
	{"timestamp too new", "too_far_in_future"},
	{"max entry size", "line_too_long"},
	{"error parsing labels", "invalid_labels"},
	{"at least one label pair is required", "missing_labels"},
	{"label names; limit", "max_label_names_per_series"},
	{"label name too long", "label_name_too_long"},
	{"label value too long", "label_value_too_long"},
	{"duplicate label name", "duplicate_label_names"},
	{"structured metadata, but this feature is disallowed", "disallowed_structured_metadata"},
	{"structured metadata too large", "structured_metadata_too_large"},
	{"too many structured metadata", "structured_metadata_too_many"},
	{"request body too large", "request_body_too_large"},
	{"out of order", "out_of_order"},
	{"too far behind", "too_far_behind"},
	{"ingestion blocked", "blocked_ingestion"},
	{"missing required labels", "missing_enforced_labels"},
	{"stream limit", "stream_limit"},
	{"no org id", "missing_tenant"},
}

// rejectReason names why Loki refused a push, from its message when Loki
// explains, else from the status code. The set of values is fixed, so it is
// safe as a metric attribute.
func rejectReason(status int, message string) string {
	lower := strings.ToLower(message)
	for _, r := range rejectReasons {
		if strings.Contains(lower, r.fragment) {
			return r.reason
		}
	}
	switch status {
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusRequestEntityTooLarge:
		return "request_body_too_large"
	case http.StatusBadRequest:
		return "bad_request"
	}
	return "http_" + strconv.Itoa(status)
}

// Loki refuses part of a push with a 400 whose body says how many entries
// it ignored, in one of two forms (Loki 3.x, pkg/ingester/stream.go and
// pkg/distributor/distributor.go):
//
//   - its ingester, for entries out of order or too far behind the newest
//     of their stream: up to 10 lines "entry with timestamp ... ignored,
//     reason: '...'," and then "user 'fake', total ignored: 1 out of 2 for
//     stream: {...}";
//   - its distributor, for entries it validates one by one (too old, too
//     new, too long, structured metadata): one message per entry, equal
//     messages grouped as "2 errors like: <message>", the groups joined
//     by "; ".
//
// Anything else (a stream's labels refused, with no count of its
// entries) is no count, and the whole batch counts as refused.
var (
	totalIgnoredRE = regexp.MustCompile(`total ignored: (\d+) out of \d+ for stream: `)
	errorsLikeRE   = regexp.MustCompile(`^(\d+) errors like: `)
	// perEntryErrors are fragments of the distributor's messages about one
	// entry (pkg/validation/validate.go).
	perEntryErrors = []string{
		"has timestamp too old:",
		"has timestamp too new:",
		"Max entry size '",
		"includes structured metadata, but this feature is disallowed",
		"has structured metadata too large:",
		"has too many structured metadata labels:",
	}
)

// ignoredEntries is how many entries a 400 body of Loki's says were
// ignored, by reason, or nil when it does not say it for every problem.
//
// Loki states less than it ignores in one case: its ingester reports only
// the last stream of a push that had entries ignored (and answers 204 when
// a later stream of the push was stored whole), and that report hides the
// distributor's. The count is then a lower bound.
func ignoredEntries(body string) []ignored {
	body = strings.TrimSpace(body)
	if ms := totalIgnoredRE.FindAllStringSubmatch(body, -1); len(ms) > 0 {
		n := 0
		for _, m := range ms {
			v, err := strconv.Atoi(m[1])
			if err != nil {
				return nil
			}
			n += v
		}
		return []ignored{{reason: rejectReason(http.StatusBadRequest, body), entries: n}}
	}
	var out []ignored
	for _, part := range strings.Split(body, "; ") {
		n := 1
		if m := errorsLikeRE.FindStringSubmatch(part); m != nil {
			v, err := strconv.Atoi(m[1])
			if err != nil {
				return nil
			}
			n, part = v, part[len(m[0]):]
		}
		if !slices.ContainsFunc(perEntryErrors, func(f string) bool { return strings.Contains(part, f) }) {
			return nil
		}
		out = addIgnored(out, rejectReason(http.StatusBadRequest, part), n)
	}
	return out
}

// addIgnored adds n entries ignored for reason to list.
func addIgnored(list []ignored, reason string, n int) []ignored {
	for i := range list {
		if list[i].reason == reason {
			list[i].entries += n
			return list
		}
	}
	return append(list, ignored{reason: reason, entries: n})
}

// retryReason is a low-cardinality name for a retryable failure.
func retryReason(err error) string {
	var se *serverError
	switch {
	case errors.As(err, &se) && se.status == http.StatusTooManyRequests:
		return "rate_limited"
	case errors.As(err, &se):
		return "server_error"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "network"
	}
}
