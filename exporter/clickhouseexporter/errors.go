package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// transientCodes are ClickHouse server error codes after which the same
// insert can succeed later: overload, timeouts, replicas or keeper briefly
// unavailable, a table turned read-only while ZooKeeper reconnects, or an
// authentication/permission problem that an operator fixes without losing
// the queued data. Codes and names: ClickHouse src/Common/ErrorCodes.cpp
// (https://github.com/ClickHouse/ClickHouse/blob/master/src/Common/ErrorCodes.cpp).
var transientCodes = map[int32]string{
	3:    "UNEXPECTED_END_OF_FILE",
	32:   "ATTEMPT_TO_READ_AFTER_EOF",
	159:  "TIMEOUT_EXCEEDED",
	164:  "READONLY",
	192:  "UNKNOWN_USER",
	194:  "REQUIRED_PASSWORD",
	202:  "TOO_MANY_SIMULTANEOUS_QUERIES",
	203:  "NO_FREE_CONNECTION",
	209:  "SOCKET_TIMEOUT",
	210:  "NETWORK_ERROR",
	236:  "ABORTED",
	241:  "MEMORY_LIMIT_EXCEEDED",
	242:  "TABLE_IS_READ_ONLY",
	252:  "TOO_MANY_PARTS",
	285:  "TOO_FEW_LIVE_REPLICAS",
	286:  "UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE",
	319:  "UNKNOWN_STATUS_OF_INSERT",
	394:  "QUERY_WAS_CANCELLED",
	425:  "SYSTEM_ERROR",
	497:  "ACCESS_DENIED",
	516:  "AUTHENTICATION_FAILED",
	999:  "KEEPER_EXCEPTION",
	1000: "POCO_EXCEPTION",
}

// isTransient reports whether an insert that failed with err may succeed if
// retried. Unknown errors count as transient: retrying what is in fact
// permanent costs retries until max_elapsed_time, whereas calling a
// transient failure permanent loses data.
func isTransient(err error) bool {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		// Any other code means the server rejected the statement or the
		// data itself (unknown table or column, type mismatch, bad data):
		// a retry sends the same bytes and gets the same answer.
		_, ok := transientCodes[ex.Code]
		return ok
	}
	var convErr *column.ColumnConverterError
	if errors.As(err, &convErr) {
		return false
	}
	var unsupported *column.UnsupportedColumnTypeError
	if errors.As(err, &unsupported) {
		return false
	}
	if errors.Is(err, clickhouse.ErrBatchInvalid) || errors.Is(err, errPermanentSchema) {
		return false
	}
	// Network failures (refused, reset, EOF, net.Error), timeouts
	// (context.DeadlineExceeded) and the driver's pool errors
	// (ErrAcquireConnTimeout, ErrConnectionClosed) all land here.
	return true
}

// errPermanentSchema marks errors of the exporter's own making that no retry
// fixes (a column slice that does not match the table).
var errPermanentSchema = errors.New("rows do not match the table schema")

// classify wraps err for exporterhelper: permanent errors are reported and
// dropped at once, anything else is retried with back-off.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if isTransient(err) {
		return err
	}
	return consumererror.NewPermanent(err)
}

// redactor removes a secret from error messages. Errors from the driver or
// the network may quote connection details; the password is replaced before
// any error leaves the exporter, so it reaches neither logs nor telemetry.
type redactor struct{ secret string }

const redacted = "[REDACTED]"

// redactedError keeps the original chain for errors.Is/As (classification)
// while its message hides the secret.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (r redactor) error(err error) error {
	if err == nil || r.secret == "" || !strings.Contains(err.Error(), r.secret) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), r.secret, redacted), err: err}
}

// wrap adds context to an error without risking the secret.
func (r redactor) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return r.error(fmt.Errorf(format+": %w", append(args, err)...))
}
