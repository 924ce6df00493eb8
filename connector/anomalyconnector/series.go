package anomalyconnector

import (
	"sort"
	"strings"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/conventions"
)

// Values of the `metric` label for the series derived from span metrics.
// Latency quantiles are named latencyPrefix + the percentile ("latency_p95").
const (
	MetricRequestRate = conventions.AnomalyMetricRequestRate
	MetricErrorRatio  = conventions.AnomalyMetricErrorRatio
	latencyPrefix     = conventions.AnomalyMetricLatencyPrefix
)

// LabelSpanName is the label naming the operation (span name) of a RED
// series; its alert events carry it as conventions.AttrSpanName. Service
// and metric use the conventions' LabelServiceName and LabelMetric.
const LabelSpanName = conventions.LabelSpanName

// attr is one extra identifying attribute of a selected metric's series.
type attr struct{ key, value string }

// identity names one watched series. It is what the output labels and the
// alert's identity are made of, and what the checkpoint stores.
type identity struct {
	metric    string
	service   string
	operation string
	attrs     []attr // sorted by key
}

// key is the map key of the series: every field, separated by a byte that
// never occurs in UTF-8 so that no two identities share a key.
func (id identity) key() string {
	var b strings.Builder
	n := len(id.metric) + len(id.service) + len(id.operation) + 3
	for _, a := range id.attrs {
		n += len(a.key) + len(a.value) + 2
	}
	b.Grow(n)
	b.WriteString(id.metric)
	b.WriteByte(0xFF)
	b.WriteString(id.service)
	b.WriteByte(0xFF)
	b.WriteString(id.operation)
	for _, a := range id.attrs {
		b.WriteByte(0xFF)
		b.WriteString(a.key)
		b.WriteByte(0xFF)
		b.WriteString(a.value)
	}
	return b.String()
}

func sortAttrs(attrs []attr) {
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].key < attrs[j].key })
}

// series is one watched series: its detector and its alert state.
type series struct {
	id          identity
	fingerprint string // alert.fingerprint, fixed by the identity
	det         *anomaly.Detector
	firing      bool
	lastSent    time.Time // last firing event sent
	lastSeen    time.Time // last interval with data
	// last and lastValue are the latest verdict and value: for the
	// console (board.go).
	last      anomaly.Result
	lastValue float64
	// since is when the series' alert started firing: the end of the
	// interval whose point raised the detector's flag (Result.Anomalous
	// turning true, its Onset), the time of its first firing event. Its
	// alert events carry it (alert.starts_at) and the checkpoint keeps
	// it; zero for a firing series restored from a checkpoint written
	// before it was kept (its start is unknown).
	since time.Time
	// announce is set on a series restored from state written ahead of
	// its alert event (see writeTransitions): that event may never have
	// gone out, so the next interval announces the series' alert state,
	// firing or resolved, whether or not it changes.
	announce bool
	// pending is set from the interval that changed the series' alert
	// state (or announced it) until its event went out: state written
	// meanwhile is flagged to be announced (storedFlags).
	pending bool
	// gone is set once the series expired: written with its resolve, it
	// is flagged forgotten.
	gone bool
}
