package sentryexporter // import "github.com/vigil-otel/vigil/exporter/sentryexporter"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/getsentry/sentry-go"
)

// maxEventBytes is Sentry's limit on one event's JSON (1 MB decompressed);
// a larger event is answered 413 and lost, so the exporter trims it first.
// https://develop.sentry.dev/sdk/data-model/envelopes/#size-limits
// https://docs.sentry.io/concepts/data-management/size-limits/
const maxEventBytes = 1 << 20

// envelopeHeader is the first line of an envelope.
// https://develop.sentry.dev/sdk/data-model/envelopes/#headers
type envelopeHeader struct {
	EventID sentry.EventID  `json:"event_id"`
	SentAt  string          `json:"sent_at"`
	DSN     string          `json:"dsn,omitempty"`
	SDK     *sentry.SdkInfo `json:"sdk,omitempty"`
}

// EncodeEnvelope writes one event as an envelope with a single "event" item,
// the format of POST /api/<project>/envelope/: the header line, the item
// header line with the payload's exact length in bytes, the payload. dsn goes in the envelope
// header (Sentry uses it to authenticate envelopes forwarded by relays); it
// is part of the wire format and never logged.
func EncodeEnvelope(buf *bytes.Buffer, ev *sentry.Event, dsn string, sentAt time.Time) error {
	payload, err := marshalEvent(ev)
	if err != nil {
		return fmt.Errorf("encoding event: %w", err)
	}
	if len(payload) > maxEventBytes {
		payload, err = shrink(ev)
		if err != nil {
			return err
		}
	}
	hdr, err := json.Marshal(envelopeHeader{
		EventID: ev.EventID,
		SentAt:  sentAt.UTC().Format(time.RFC3339Nano),
		DSN:     dsn,
		SDK:     &ev.Sdk,
	})
	if err != nil {
		return fmt.Errorf("encoding envelope header: %w", err)
	}
	buf.Write(hdr)
	buf.WriteByte('\n')
	buf.WriteString(`{"type":"event","length":`)
	buf.WriteString(strconv.Itoa(len(payload)))
	buf.WriteString("}\n")
	buf.Write(payload)
	buf.WriteByte('\n')
	return nil
}

// shrink drops what makes an event too large, least useful first: the otel
// context, then long messages, then long names anywhere (a span name, a
// frame's function or file: a request may make any of them megabytes long),
// then the stack traces. Frames are bounded by maxFrames already. An event
// still too large cannot be sent.
func shrink(ev *sentry.Event) ([]byte, error) {
	delete(ev.Contexts, "otel")
	ev.Message = truncate(ev.Message, 1024)
	for i := range ev.Exception {
		ev.Exception[i].Value = truncate(ev.Exception[i].Value, 1024)
	}
	payload, err := marshalEvent(ev)
	if err == nil && len(payload) > maxEventBytes {
		trimNames(ev, maxNameLen)
		payload, err = marshalEvent(ev)
	}
	if err == nil && len(payload) > maxEventBytes {
		for i := range ev.Exception {
			ev.Exception[i].Stacktrace = nil
		}
		payload, err = marshalEvent(ev)
	}
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	if len(payload) > maxEventBytes {
		return nil, fmt.Errorf("event %s is %d bytes after trimming, over Sentry's %d", ev.EventID, len(payload), maxEventBytes)
	}
	return payload, nil
}

// marshalEvent encodes an error event as sentry-go's Event.MarshalJSON
// does, less the "user" object when it is empty: sentry-go writes
// "user":{} on every event (its User is a struct, which omitempty keeps),
// which Sentry accepts and which says nothing. Not json.Marshal(ev): it
// would re-scan and compact what the method returns, which costs about as
// much as the encoding itself.
func marshalEvent(ev *sentry.Event) ([]byte, error) {
	if !ev.User.IsEmpty() || ev.Type != "" {
		return ev.MarshalJSON()
	}
	// event is Event without its MarshalJSON method; the fields below
	// shadow Event's, left empty so that omitempty drops them: user, and
	// the transaction fields sentry-go drops from error events.
	type event sentry.Event
	return json.Marshal(struct {
		*event
		User            json.RawMessage `json:"user,omitempty"`
		Type            json.RawMessage `json:"type,omitempty"`
		StartTime       json.RawMessage `json:"start_timestamp,omitempty"`
		Spans           json.RawMessage `json:"spans,omitempty"`
		TransactionInfo json.RawMessage `json:"transaction_info,omitempty"`
	}{event: (*event)(ev)})
}

// maxNameLen is what shrink leaves of a name: Sentry trims longer field
// values itself (https://docs.sentry.io/concepts/data-management/size-limits/);
// this only makes room for the event to be taken at all.
const maxNameLen = 256

// trimNames cuts every name-like field of ev to n bytes.
func trimNames(ev *sentry.Event, n int) {
	ev.Transaction = truncate(ev.Transaction, n)
	ev.Logger = truncate(ev.Logger, n)
	ev.ServerName = truncate(ev.ServerName, n)
	for i := range ev.Fingerprint {
		ev.Fingerprint[i] = truncate(ev.Fingerprint[i], n)
	}
	for i := range ev.Exception {
		exc := &ev.Exception[i]
		exc.Type = truncate(exc.Type, n)
		exc.Module = truncate(exc.Module, n)
		if exc.Stacktrace == nil {
			continue
		}
		for j := range exc.Stacktrace.Frames {
			f := &exc.Stacktrace.Frames[j]
			f.Function = truncate(f.Function, n)
			f.Module = truncate(f.Module, n)
			f.Package = truncate(f.Package, n)
			f.Filename = truncate(f.Filename, n)
			f.AbsPath = truncate(f.AbsPath, n)
		}
	}
}
