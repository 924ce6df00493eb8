package clickhouseexporter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"timeout", context.DeadlineExceeded, false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, false},
		{"reset while sending", fmt.Errorf("insert: %w", syscall.ECONNRESET), false},
		{"server closed connection", io.EOF, false},
		{"pool exhausted", clickhouse.ErrAcquireConnTimeout, false},
		{"too many parts", &clickhouse.Exception{Code: 252}, false},
		{"memory limit", fmt.Errorf("insert into t: %w", &clickhouse.Exception{Code: 241}), false},
		{"keeper down", &clickhouse.Exception{Code: 999}, false},
		{"table read-only during keeper reconnect", &clickhouse.Exception{Code: 242}, false},
		{"authentication failed (fixable by an operator)", &clickhouse.Exception{Code: 516}, false},
		{"unknown table", &clickhouse.Exception{Code: 60}, true},
		{"no such column", &clickhouse.Exception{Code: 16}, true},
		{"type mismatch", fmt.Errorf("wrapped: %w", &clickhouse.Exception{Code: 53}), true},
		{"cannot parse input", &clickhouse.Exception{Code: 27}, true},
		{"driver cannot convert the value", &column.ColumnConverterError{Op: "Append", From: "int", To: "String"}, true},
		{"rows do not match", fmt.Errorf("x: %w", errPermanentSchema), true},
		{"unknown error is retried", errors.New("something odd"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if consumererror.IsPermanent(got) != tt.permanent {
				t.Errorf("classify(%v) permanent = %v, want %v", tt.err, !tt.permanent, tt.permanent)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classify lost the original error")
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}

func TestJoinInserts(t *testing.T) {
	perm := consumererror.NewPermanent(errors.New("unknown table"))
	trans := errors.New("timeout")
	tests := []struct {
		name          string
		results       []error
		wantNil       bool
		wantPermanent bool
	}{
		{name: "all succeed", results: []error{nil, nil}, wantNil: true},
		{name: "only permanent failures drop the request", results: []error{nil, perm}, wantPermanent: true},
		{name: "a transient failure retries the whole request", results: []error{perm, trans}, wantPermanent: false},
		{name: "transient alone", results: []error{trans, nil}, wantPermanent: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := joinInserts(tt.results...)
			if tt.wantNil {
				if err != nil {
					t.Fatalf("joinInserts = %v, want nil", err)
				}
				return
			}
			if err == nil || consumererror.IsPermanent(err) != tt.wantPermanent {
				t.Fatalf("joinInserts = %v, permanent=%v; want permanent=%v", err, consumererror.IsPermanent(err), tt.wantPermanent)
			}
		})
	}
}

func TestRedactor(t *testing.T) {
	r := redactor{secret: "hunter2"}
	base := &clickhouse.Exception{Code: 60, Message: "bad hunter2"}
	err := r.wrap(base, "insert into %s", "t")
	if err.Error() != "insert into t: code: 60, message: bad [REDACTED]" {
		t.Errorf("redacted message = %q", err)
	}
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != 60 {
		t.Error("redaction must keep the error chain for classification")
	}
	clean := errors.New("no secret here")
	if r.error(clean) != clean {
		t.Error("an error without the secret must pass unchanged")
	}
	if (redactor{}).error(clean) != clean {
		t.Error("no password configured: nothing to redact")
	}
}

func TestInsertStatementQuotesIdentifiers(t *testing.T) {
	cols := []Column{{"Timestamp", nil}, {"Events.Timestamp", nil}}
	got := insertStatement("otel", "otel_traces", cols)
	want := "INSERT INTO `otel`.`otel_traces` (`Timestamp`, `Events.Timestamp`)"
	if got != want {
		t.Errorf("insertStatement = %q, want %q", got, want)
	}
}
