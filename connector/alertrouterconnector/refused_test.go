package alertrouterconnector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-otel/vigil/internal/alertevent"
	"github.com/vigil-otel/vigil/internal/refusal"
)

const metricRefused = "otelcol_alertrouter_notifications_refused"

// refuse reports the i-th notification the sink of id took as refused by
// its receiver, as the pagerduty exporter does when PagerDuty answers 400
// after its persistent queue took the notification: read back from the
// record, to the router the record names.
func (h *harness) refuse(t *testing.T, board *refusal.Board, id pipeline.ID, i int) {
	t.Helper()
	var records []struct {
		lr plog.LogRecord
		rl plog.ResourceLogs
	}
	for _, ld := range h.sinks[id].AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					records = append(records, struct {
						lr plog.LogRecord
						rl plog.ResourceLogs
					}{lr, rl})
				}
			}
		}
	}
	require.Greater(t, len(records), i)
	n, err := alertevent.DecodeNotification(records[i].lr, records[i].rl.Resource(), time.Time{})
	require.NoError(t, err)
	require.Equal(t, id.String(), n.Integration, "the record names its pipeline")
	router := alertevent.Router(records[i].lr)
	require.Equal(t, "alertrouter", router, "the record names its router")
	board.Report(router, n)
}

// refusedCount is the router's count of refused notifications.
func (h *harness) refusedCount(t *testing.T) int64 {
	t.Helper()
	m, err := h.tel.GetMetric(metricRefused)
	if err != nil {
		return 0
	}
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}

// TestRefusedAfterHandoverSentAgain: PagerDuty refuses a page its
// exporter's persistent queue took (a wrong routing key): the router
// sends the page to that pipeline again at the group's next flush, not to
// the pipeline that took it, and not again once taken.
func TestRefusedAfterHandoverSentAgain(t *testing.T) {
	board := refusal.NewBoard()
	h := start(t, options{routing: routing, board: board})
	page := "SLOBurnRate-checkout-availability-page"
	h.at(t, 0, event("page", "firing"))
	require.Equal(t, []string{"trigger " + page}, h.notes(t, pipeOncall, 1))
	require.Equal(t, []string{"trigger " + page}, h.notes(t, pipeArchive, 1))
	h.refuse(t, board, pipeOncall, 0)
	assert.Equal(t, int64(1), h.refusedCount(t))

	h.at(t, 5*time.Second, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeOncall, 1), "not before the group's interval")
	h.at(t, 10*time.Second, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page, "trigger " + page}, h.notes(t, pipeOncall, 2))
	h.at(t, 20*time.Second, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page, "trigger " + page}, h.notes(t, pipeOncall, 2), "taken the second time")
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeArchive, 1), "the pipeline that took it is not sent it again")
}

// TestRefusalHeldAcrossRebuild: a refusal reported while no router
// listens (the collector rebuilds every component on SIGHUP, exporters
// first) reaches the rebuilt router, which sends the page again at the
// group's first flush, to that pipeline only.
func TestRefusalHeldAcrossRebuild(t *testing.T) {
	board := refusal.NewBoard()
	dir := t.TempDir()
	page := "SLOBurnRate-checkout-availability-page"
	first := start(t, options{routing: routing, storeDir: dir, board: board})
	first.at(t, 0, event("page", "firing"))
	require.Equal(t, []string{"trigger " + page}, first.notes(t, pipeOncall, 1))
	require.Equal(t, []string{"trigger " + page}, first.notes(t, pipeArchive, 1))
	first.stop(t)
	first.refuse(t, board, pipeOncall, 0)

	second := start(t, options{routing: routing, storeDir: dir, board: board})
	assert.Equal(t, int64(1), second.refusedCount(t))
	second.at(t, time.Second, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page}, second.notes(t, pipeOncall, 1))
	assert.Empty(t, second.notes(t, pipeArchive, 0), "the pipeline that took it is not sent it again")
	second.at(t, 11*time.Second, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page}, second.notes(t, pipeOncall, 1))
}

// TestRefusedByHandover: an exporter that waits for PagerDuty (no queue,
// or wait_for_result) returns its 400 as the handover's error: counted as
// refused, and sent again at the group's next flush.
func TestRefusedByHandover(t *testing.T) {
	h := start(t, options{routing: routing, refuse: map[pipeline.ID]int{pipeOncall: 1}})
	page := "SLOBurnRate-checkout-availability-page"
	h.at(t, 0, event("page", "firing"))
	assert.Empty(t, h.notes(t, pipeOncall, 0))
	assert.Equal(t, int64(1), h.refusedCount(t))
	h.at(t, 10*time.Second, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeOncall, 1))
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeArchive, 1))
	assert.Equal(t, int64(1), h.refusedCount(t))
}
