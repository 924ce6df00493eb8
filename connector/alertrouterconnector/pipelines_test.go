package alertrouterconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/internal/ownership/ownershiptest"
)

// The built-in routing's receiver "default" with two pipelines, as
// full.yaml and evaluator.yaml map it (PagerDuty and the webhook).
var twoPipelines = []pipeline.ID{pipeOncall, pipeWebhook}

const page = "SLOBurnRate-checkout-availability-page"

// sentTo waits until the engine records the trigger of the alert as
// delivered (not pending) at pipeline id: the handover's outcome is
// recorded after the pipeline took it.
func (h *harness) sentTo(t *testing.T, id pipeline.ID) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, entry := range h.r.engine.Log() {
			if entry.Integration == id.String() && entry.Action == alerts.ActionTrigger && !entry.Pending {
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
}

// TestPipelineBlockedHoldsBackNothing: of a receiver's two pipelines,
// one whose consumer does not return (its exporter waits for a receiver
// that is down) holds back neither the trigger nor the resolve of the
// other, which get there at their flushes; once it returns, it gets the
// trigger it held and then the resolve, in order, once each.
func TestPipelineBlockedHoldsBackNothing(t *testing.T) {
	block := make(chan struct{})
	h := start(t, options{pipelines: twoPipelines, block: map[pipeline.ID]chan struct{}{pipeWebhook: block}})
	h.at(t, 0, event("page", "firing"))
	h.at(t, alerts.DefaultGroupWait)
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeOncall, 1))
	require.Eventually(t, func() bool { return h.sinks[pipeWebhook].blocked.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	// The console shows the receiver, once, not its pipelines.
	firing := (consoleAlerts{h.r}).Alerts(context.Background(), h.clock)
	require.Len(t, firing, 1)
	assert.Equal(t, []string{alerts.DefaultReceiverName}, firing[0].Receivers)
	groups := (consoleAlerts{h.r}).Groups(context.Background(), h.clock)
	require.Len(t, groups, 1)
	assert.Equal(t, alerts.DefaultReceiverName, groups[0].Receiver)

	h.at(t, 10*time.Second, event("page", "resolved"))
	h.at(t, alerts.DefaultGroupWait+alerts.DefaultGroupInterval)
	assert.Equal(t, []string{"trigger " + page, "resolve " + page}, h.notes(t, pipeOncall, 2),
		"the resolve waited for the blocked pipeline")
	assert.Empty(t, h.notes(t, pipeWebhook, 0))

	close(block)
	assert.Equal(t, []string{"trigger " + page}, h.notes(t, pipeWebhook, 1))
	h.sentTo(t, pipeWebhook)
	h.at(t, alerts.DefaultGroupWait+2*alerts.DefaultGroupInterval)
	assert.Equal(t, []string{"trigger " + page, "resolve " + page}, h.notes(t, pipeWebhook, 2))
	h.at(t, alerts.DefaultGroupWait+3*alerts.DefaultGroupInterval)
	assert.Equal(t, []string{"trigger " + page, "resolve " + page}, h.notes(t, pipeOncall, 2), "sent again to the pipeline that had it")
	assert.Equal(t, []string{"trigger " + page, "resolve " + page}, h.notes(t, pipeWebhook, 2))
}

// TestPipelineFailureRepeatsOnlyThere: a pipeline of a receiver that
// refuses a notification (its queue is full) gets it again at the
// group's next flushes, also after a restart over the same storage; the
// other pipeline, which took it, does not get it again. The failures are
// counted at the failing pipeline.
func TestPipelineFailureRepeatsOnlyThere(t *testing.T) {
	dir := t.TempDir()
	first := start(t, options{storeDir: dir, pipelines: twoPipelines, fail: map[pipeline.ID]int{pipeWebhook: 2}})
	first.at(t, 0, event("page", "firing"))
	first.at(t, alerts.DefaultGroupWait)
	assert.Equal(t, []string{"trigger " + page}, first.notes(t, pipeOncall, 1))
	first.at(t, alerts.DefaultGroupWait+alerts.DefaultGroupInterval, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page}, first.notes(t, pipeOncall, 1), "sent again to the pipeline that had it")
	assert.Empty(t, first.notes(t, pipeWebhook, 0))
	first.stop(t)
	failed := map[string]int64{}
	m, err := first.tel.GetMetric(metricNotifications)
	require.NoError(t, err)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		p, _ := dp.Attributes.Value(attrPipeline)
		o, _ := dp.Attributes.Value(attrOutcome)
		if o.AsString() == outcomeFailed {
			failed[p.AsString()] += dp.Value
		}
	}
	assert.Equal(t, map[string]int64{"logs/webhook": 2}, failed)

	// Restarted: the webhook is still owed the trigger, PagerDuty not.
	second := start(t, options{storeDir: dir, pipelines: twoPipelines})
	second.at(t, 2*time.Minute, event("page", "firing"))
	second.at(t, 2*time.Minute+alerts.DefaultGroupWait, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page}, second.notes(t, pipeWebhook, 1))
	assert.Empty(t, second.notes(t, pipeOncall, 0), "sent again after the restart to the pipeline that had it")
	second.sentTo(t, pipeWebhook)
	second.at(t, 3*time.Minute, event("page", "resolved"))
	second.at(t, 2*time.Minute+alerts.DefaultGroupWait+alerts.DefaultGroupInterval)
	assert.Equal(t, []string{"resolve " + page}, second.notes(t, pipeOncall, 1))
	assert.Equal(t, []string{"trigger " + page, "resolve " + page}, second.notes(t, pipeWebhook, 2))
}

// TestHandoverWithABlockedPipeline: in a fleet, an evaluator whose
// pipeline is stuck on a notification gives the service up without
// waiting for it (past releaseGrace it is cancelled), and the next owner
// sends that pipeline what it was owed, and nothing to the pipeline that
// took it.
func TestHandoverWithABlockedPipeline(t *testing.T) {
	store := ownershiptest.NewStore()
	ctx := context.Background()
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	am := ownershiptest.NewMember(store)
	a := startMember(t, am, options{pipelines: twoPipelines, block: map[pipeline.ID]chan struct{}{pipeWebhook: block}})
	bm := ownershiptest.NewMember(store)
	b := startMember(t, bm, options{pipelines: twoPipelines})

	require.NoError(t, am.Acquire(ctx, "checkout"))
	a.at(t, 0, event("page", "firing"))
	a.at(t, alerts.DefaultGroupWait)
	assert.Equal(t, []string{"trigger " + page}, a.notes(t, pipeOncall, 1))
	require.Eventually(t, func() bool { return a.sinks[pipeWebhook].blocked.Load() == 1 }, 5*time.Second, 5*time.Millisecond)

	released := make(chan struct{})
	go func() {
		am.Release(ctx, "checkout", true)
		close(released)
	}()
	select {
	case <-released:
	case <-time.After(30 * time.Second):
		t.Fatal("the handover waited for the blocked pipeline")
	}
	// Cancelled: the stuck consumer returns, and the handover counts as
	// cancelled, not as a delivery failure (which the shipped alert
	// VigilNotificationsFailing pages on).
	require.Eventually(t, func() bool { return a.sinks[pipeWebhook].blocked.Load() == 0 }, 5*time.Second, 5*time.Millisecond,
		"the blocked handover was not cancelled")
	outcomes := func() map[string]int64 {
		out := map[string]int64{}
		m, err := a.tel.GetMetric(metricNotifications)
		require.NoError(t, err)
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			p, _ := dp.Attributes.Value(attrPipeline)
			o, _ := dp.Attributes.Value(attrOutcome)
			out[p.AsString()+" "+o.AsString()] += dp.Value
		}
		return out
	}
	require.Eventually(t, func() bool { return outcomes()["logs/webhook "+outcomeCancelled] == 1 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, map[string]int64{"logs/oncall " + outcomeHandedOver: 1, "logs/webhook " + outcomeCancelled: 1}, outcomes())

	require.NoError(t, bm.Acquire(ctx, "checkout"))
	b.at(t, time.Minute, event("page", "firing"))
	b.at(t, time.Minute+alerts.DefaultGroupWait, event("page", "firing"))
	assert.Equal(t, []string{"trigger " + page}, b.notes(t, pipeWebhook, 1))
	assert.Empty(t, b.notes(t, pipeOncall, 0), "the new owner paged again")
}
