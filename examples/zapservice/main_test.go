package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/vigil-otel/vigil/receiver/zaplogreceiver"
)

// TestOutputReadsAsZapRecords runs the service for a few requests and reads
// its file with the zaplog parser: every line must parse, request lines
// must carry a trace context, and the failure must carry a stack trace.
func TestOutputReadsAsZapRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	require.NoError(t, run(context.Background(), path, 7, 0))

	p, err := zaplogreceiver.NewParser(zaplogreceiver.DefaultParserConfig())
	require.NoError(t, err)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()

	var bodies []string
	traced := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lr := plog.NewLogRecord()
		res := p.Parse(sc.Bytes(), lr)
		require.NoError(t, res.Err, sc.Text())
		assert.Equal(t, serviceName, res.ServiceName)
		assert.NotZero(t, lr.Timestamp())
		bodies = append(bodies, lr.Body().Str())
		if lr.Body().Str() == "service started" || lr.Body().Str() == "service stopping" {
			assert.True(t, lr.TraceID().IsEmpty())
			continue
		}
		require.False(t, lr.TraceID().IsEmpty(), sc.Text())
		require.False(t, lr.SpanID().IsEmpty(), sc.Text())
		assert.Equal(t, plog.LogRecordFlags(1), lr.Flags())
		traced[lr.TraceID().String()] = true
		name, _ := lr.Attributes().Get(zaplogreceiver.AttrLoggerName)
		assert.Equal(t, "http", name.Str())
		if lr.SeverityNumber() == plog.SeverityNumberError {
			_, ok := lr.Attributes().Get(zaplogreceiver.AttrExceptionStacktrace)
			assert.True(t, ok, "error without stack trace")
		}
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, []string{
		"service started",
		"request completed", "request completed", "request completed",
		"request completed", "request completed", "request completed",
		"order lookup failed",
		"service stopping",
	}, bodies)
	assert.Len(t, traced, 7, "one trace per request")
}
