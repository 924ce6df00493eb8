package pagerdutyexporter

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/queuestorage"
	"github.com/vigil-otel/vigil/internal/testutil/fakepagerduty"
)

// TestPageQueuedBeforeTheDiskFillsIsSent: a page handed over while the
// persistent queue's disk had room (the router counts it handed over) is
// sent although the disk is full when the queue reads it. exporterhelper
// alone drops it, with a debug line (ops-trial-REPORT A1).
func TestPageQueuedBeforeTheDiskFillsIsSent(t *testing.T) {
	fake := fakepagerduty.New(t)
	// The first page holds the one consumer, retrying, until the second
	// is queued and the disk is full.
	fake.RespondNext(1_000_000, fakepagerduty.Reply{Status: http.StatusServiceUnavailable})
	oneConsumer := func(c *Config) { c.QueueConfig.Get().NumConsumers = 1 }
	h := startExporter(t, fake, options{key: testKey, storeDir: t.TempDir(), mutate: oneConsumer})
	h.consume(t, note("fp-first", "page", "firing"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(fake.Requests()) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the first page was never sent")
		case <-time.After(10 * time.Millisecond):
		}
	}
	h.consume(t, note("fp-queued", "page", "firing"))
	h.disk.SetFull(true)
	fake.Reset() // PagerDuty is back: the first page goes, the queue reads the second

	h.waitFor(t, 10*time.Second, "the page queued before the disk filled", count("trigger", "fp-queued"))
	if !h.logged(queuestorage.UnrecordedReadMessage) {
		t.Error("the unrecorded read was not logged")
	}
}
