package zaplogreceiver

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer/attrs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/trim"

	"github.com/vigil-otel/vigil/internal/storageclient"
)

const (
	// maxStreamBatch bounds the records a TCP connection hands to the
	// pipeline at once.
	maxStreamBatch = 1024
	// maxHTTPBody bounds a request body, compressed or not.
	maxHTTPBody = 64 << 20
	// retryInitial and retryMax bound the wait between deliveries of a
	// batch the pipeline refused with a retryable error (memory_limiter).
	retryInitial = 50 * time.Millisecond
	retryMax     = 5 * time.Second
)

// zaplogReceiver reads zap output from files, TCP and HTTP.
type zaplogReceiver struct {
	cfg       *Config
	set       receiver.Settings
	next      consumer.Logs
	parser    *Parser
	telemetry *receiverTelemetry
	obs       map[string]*receiverhelper.ObsReport
	// resource is cfg.Resource sorted, without empty values.
	resource [][2]string

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	files    *fileconsumer.Manager
	storage  storage.Client
	tcp      net.Listener
	httpSrv  *http.Server
	httpLn   net.Listener
	fileConv *converter
	// maxBody is maxHTTPBody; a field so tests can lower it.
	maxBody int64
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*zaplogReceiver, error) {
	parser, err := NewParser(cfg.ParserConfig)
	if err != nil {
		return nil, err
	}
	tel, err := newReceiverTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	r := &zaplogReceiver{cfg: cfg, set: set, next: next, parser: parser, telemetry: tel, obs: map[string]*receiverhelper.ObsReport{}, maxBody: maxHTTPBody}
	for _, input := range []string{inputFile, inputTCP, inputHTTP} {
		obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
			ReceiverID: set.ID, Transport: input, ReceiverCreateSettings: set,
		})
		if err != nil {
			return nil, err
		}
		r.obs[input] = obs
	}
	// The resource attributes, sorted and without empty values, once: a
	// converter is made per TCP connection and HTTP request.
	for _, k := range slices.Sorted(maps.Keys(cfg.Resource)) {
		if v := cfg.Resource[k]; v != "" {
			r.resource = append(r.resource, [2]string{k, v})
		}
	}
	r.fileConv = r.converter(inputFile)
	return r, nil
}

func (r *zaplogReceiver) converter(input string) *converter {
	return &converter{
		parser:      r.parser,
		maxLogSize:  int(r.cfg.MaxLogSize),
		serviceName: r.cfg.ServiceName,
		resource:    r.resource,
		telemetry:   r.telemetry,
		input:       inputAttribute(input),
	}
}

// Start opens the configured inputs; if one fails, those already open are
// closed by Shutdown, which the collector calls after a failed Start.
func (r *zaplogReceiver) Start(ctx context.Context, host component.Host) error {
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if len(r.cfg.Include) > 0 {
		if err := r.startFiles(ctx, host); err != nil {
			return err
		}
	}
	if r.cfg.TCP != nil {
		ln, err := net.Listen("tcp", r.cfg.TCP.Endpoint)
		if err != nil {
			return fmt.Errorf("zaplog tcp: %w", err)
		}
		r.tcp = ln
		r.wg.Add(1)
		go r.acceptTCP(runCtx, ln)
	}
	if r.cfg.HTTP != nil {
		ln, err := net.Listen("tcp", r.cfg.HTTP.Endpoint)
		if err != nil {
			return fmt.Errorf("zaplog http: %w", err)
		}
		r.httpLn = ln
		r.httpSrv = &http.Server{
			Handler:           http.HandlerFunc(r.serveHTTP),
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return runCtx },
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := r.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				r.set.Logger.Error("zaplog http server stopped", zap.Error(err))
			}
		}()
	}
	return nil
}

// Shutdown stops every input, saves file offsets and waits for the
// goroutines it started.
func (r *zaplogReceiver) Shutdown(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	var errs []error
	if r.tcp != nil {
		if err := r.tcp.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if r.httpSrv != nil {
		if err := r.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		r.httpSrv = nil
	}
	if r.files != nil {
		// Stop waits for readers and writes the final offsets.
		errs = append(errs, r.files.Stop())
		r.files = nil
	}
	r.wg.Wait()
	if r.storage != nil {
		errs = append(errs, r.storage.Close(ctx))
		r.storage = nil
	}
	return errors.Join(errs...)
}

// startFiles builds contrib's stanza file consumer, which handles globs,
// rotation, truncation, start_at, fingerprints and offset checkpoints.
func (r *zaplogReceiver) startFiles(ctx context.Context, host component.Host) error {
	fc := fileconsumer.NewConfig()
	fc.Include = r.cfg.Include
	fc.Exclude = r.cfg.Exclude
	fc.StartAt = r.cfg.StartAt
	fc.PollInterval = r.cfg.PollInterval
	fc.FlushPeriod = r.cfg.ForceFlushPeriod
	fc.MaxConcurrentFiles = r.cfg.MaxConcurrentFiles
	fc.Encoding = r.cfg.Encoding
	// One byte over the limit tells the converter a line was cut; stanza
	// then skips the rest of the line instead of emitting it as more lines.
	fc.MaxLogSize = r.cfg.MaxLogSize + 1
	fc.MaxLogSizeBehavior = fileconsumer.MaxLogSizeBehaviorTruncate
	fc.Resolver = attrs.Resolver{IncludeFilePath: true}
	// copytruncate rotation: once a file shrinks, read it again from the
	// start; stanza's default would skip what was written up to the old size.
	fc.OnTruncate = fileconsumer.OnTruncateReadWholeFile
	// The end of what a poll read is the end of a record only without a
	// flush period: with one, stanza hands the rest over once the file is
	// quiet that long (a line still being written is not cut in two);
	// with none (0) it never would, and a last record (a crash report of
	// a service that died) would wait for ever.
	m, err := fc.Build(r.set.TelemetrySettings, r.emitFile, fileconsumer.WithSplitFunc(splitRecords(r.parser.format, r.cfg.ForceFlushPeriod <= 0)))
	if err != nil {
		return fmt.Errorf("zaplog files: %w", err)
	}
	var persister operator.Persister
	if r.cfg.StorageID != nil {
		client, err := storageclient.Get(ctx, host, *r.cfg.StorageID, component.KindReceiver, r.set.ID, "")
		if err != nil {
			return err
		}
		r.storage = client
		persister = client
	}
	if err := m.Start(persister); err != nil {
		return fmt.Errorf("zaplog files: %w", err)
	}
	r.files = m
	return nil
}

// emitFile is the file consumer's callback: one call per batch of lines of
// one file. Returning only after delivery makes the consumer checkpoint
// offsets of delivered lines only.
func (r *zaplogReceiver) emitFile(ctx context.Context, tokens [][]byte, fileAttrs map[string]any, _ int64, _ []int64) error {
	path, _ := fileAttrs[attrs.LogFilePath].(string)
	b := r.fileConv.newBatch()
	for _, t := range tokens {
		r.fileConv.add(b, t, path)
	}
	r.fileConv.count(ctx, b)
	return r.deliver(ctx, inputFile, b.logs, true)
}

// deliver hands logs to the pipeline. With retry it waits and tries again
// after a retryable error (a refusing memory_limiter) until it succeeds or
// ctx ends, which holds back reading instead of dropping lines.
func (r *zaplogReceiver) deliver(ctx context.Context, input string, logs plog.Logs, retry bool) error {
	n := logs.LogRecordCount()
	if n == 0 {
		return nil
	}
	obs := r.obs[input]
	wait := retryInitial
	for {
		octx := obs.StartLogsOp(ctx)
		err := r.next.ConsumeLogs(octx, logs)
		obs.EndLogsOp(octx, "zaplog", n, err)
		if err == nil || !retry || consumererror.IsPermanent(err) {
			return err
		}
		r.set.Logger.Warn("pipeline refused zap logs, retrying", zap.String("input", input), zap.Error(err), zap.Duration("wait", wait))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// newScanner returns a scanner of records with the size limit applied the
// way the file consumer applies it: a cut token is maxLogSize+1 long and
// the rest of its line is skipped.
func (r *zaplogReceiver) newScanner(rd io.Reader) *bufio.Scanner {
	limit := int(r.cfg.MaxLogSize) + 1
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, min(64*1024, limit)), limit)
	skipping := false
	sc.Split(trim.ToLengthWithTruncate(splitRecords(r.parser.format, true), limit, &skipping))
	return sc
}

func (r *zaplogReceiver) acceptTCP(ctx context.Context, ln net.Listener) {
	defer r.wg.Done()
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors and the like pass; keep listening.
			r.set.Logger.Error("zaplog tcp accept failed", zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		r.wg.Add(1)
		go r.serveTCP(ctx, conn)
	}
}

func (r *zaplogReceiver) serveTCP(ctx context.Context, conn net.Conn) {
	defer r.wg.Done()
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	conv := r.converter(inputTCP)
	b := conv.newBatch()
	flush := func() {
		if b.records == 0 {
			return
		}
		conv.count(ctx, b)
		if err := r.deliver(ctx, inputTCP, b.logs, true); err != nil {
			r.set.Logger.Error("zaplog tcp: records dropped", zap.Int64("records", b.records), zap.Error(err))
		}
		b = conv.newBatch()
	}
	err := r.readStream(conn, func(tok []byte) {
		conv.add(b, tok, "")
		if b.records >= maxStreamBatch {
			flush()
		}
	}, flush)
	flush()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		r.set.Logger.Warn("zaplog tcp connection ended", zap.Error(err))
	}
}

// readStream splits a connection into records like the file consumer splits
// a file: a token over max_log_size is cut and the rest of its line skipped,
// and data left without an end (a last line without newline, a console
// record that may get more stack lines) is taken as complete once the
// writer has been quiet for force_flush_period. idle is called before every
// read that may block, so records read so far are not held back.
func (r *zaplogReceiver) readStream(conn net.Conn, emit func([]byte), idle func()) error {
	limit := int(r.cfg.MaxLogSize) + 1
	skipping := false
	split := trim.ToLengthWithTruncate(splitRecords(r.parser.format, true), limit, &skipping)
	buf := make([]byte, 0, min(64*1024, limit))
	drain := func(atEOF bool) error {
		start := 0
		for start < len(buf) {
			adv, tok, err := split(buf[start:], atEOF)
			if err != nil {
				return err
			}
			if adv == 0 && tok == nil {
				break
			}
			start += adv
			if tok != nil {
				emit(tok)
			}
		}
		buf = buf[:copy(buf, buf[start:])]
		return nil
	}
	for {
		if err := drain(false); err != nil {
			return err
		}
		idle()
		deadline := time.Time{}
		if len(buf) > 0 && r.cfg.ForceFlushPeriod > 0 {
			deadline = time.Now().Add(r.cfg.ForceFlushPeriod)
		}
		if err := conn.SetReadDeadline(deadline); err != nil {
			return err
		}
		if len(buf) == cap(buf) {
			// Never past limit: the split cuts a record at limit, so
			// drain always leaves room; a buffer that grew with every
			// read would hold a whole endless line.
			grown := make([]byte, len(buf), min(2*cap(buf), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
			if err := drain(true); err != nil {
				return err
			}
		case errors.Is(err, io.EOF):
			return drain(true)
		default:
			if derr := drain(true); derr != nil {
				return derr
			}
			return err
		}
	}
}

// acceptedContentTypes are the media types an NDJSON body may be sent as;
// a missing Content-Type is accepted too.
var acceptedContentTypes = map[string]bool{
	"application/x-ndjson":     true,
	"application/jsonl":        true,
	"application/x-jsonlines":  true,
	"application/json":         true,
	"application/json-seq":     true,
	"text/plain":               true,
	"application/octet-stream": true,
}

var errBodyTooLarge = errors.New("decompressed body too large")

// cappedReader fails, rather than ending quietly as io.LimitReader does,
// when a decompressed body runs past its limit, so no record is cut off
// without the client hearing of it.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, err := c.r.Read(one[:]); n > 0 {
			return 0, errBodyTooLarge
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// httpResult is the body of a successful response.
type httpResult struct {
	Records     int64 `json:"records"`
	ParseErrors int64 `json:"parse_errors"`
	Truncated   int64 `json:"truncated"`
}

func (r *zaplogReceiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, fmt.Sprintf("zaplog: method %s not allowed: POST newline-delimited zap JSON records", req.Method), http.StatusMethodNotAllowed)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !acceptedContentTypes[mt] {
			http.Error(w, fmt.Sprintf("zaplog: unsupported Content-Type %q: send application/x-ndjson", ct), http.StatusUnsupportedMediaType)
			return
		}
	}
	var body io.Reader = http.MaxBytesReader(w, req.Body, r.maxBody)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "zaplog: bad gzip body: "+err.Error(), http.StatusBadRequest)
			return
		}
		defer gz.Close()
		body = &cappedReader{r: gz, left: r.maxBody}
	default:
		http.Error(w, fmt.Sprintf("zaplog: unsupported Content-Encoding %q: send gzip or none", enc), http.StatusUnsupportedMediaType)
		return
	}

	// The whole body is read before anything is delivered, and delivered
	// as one batch: a request either reaches the pipeline entirely or not
	// at all, so a client may resend it after any error without repeats.
	data, err := io.ReadAll(body)
	if err != nil {
		status := http.StatusBadRequest
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) || errors.Is(err, errBodyTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, fmt.Sprintf("zaplog: reading body: %v (limit %d bytes)", err, r.maxBody), status)
		return
	}
	ctx := req.Context()
	conv := r.converter(inputHTTP)
	b := conv.newBatch()
	sc := r.newScanner(bytes.NewReader(data))
	for sc.Scan() {
		conv.add(b, sc.Bytes(), "")
	}
	if err := sc.Err(); err != nil {
		// Only a split error could end this early; there is none today.
		http.Error(w, "zaplog: splitting body: "+err.Error(), http.StatusBadRequest)
		return
	}
	conv.count(ctx, b)
	total := httpResult{Records: b.records, ParseErrors: b.errors, Truncated: b.truncated}
	var deliverErr error
	if total.Records > 0 {
		deliverErr = r.deliver(ctx, inputHTTP, b.logs, false)
	}
	switch {
	case deliverErr != nil && consumererror.IsPermanent(deliverErr):
		http.Error(w, "zaplog: records rejected: "+deliverErr.Error(), http.StatusBadRequest)
		return
	case deliverErr != nil:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "zaplog: pipeline busy, retry: "+deliverErr.Error(), http.StatusServiceUnavailable)
		return
	case total.Records == 0:
		http.Error(w, "zaplog: request body has no records: POST newline-delimited zap JSON records", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(total)
}
