package conventions

// Names the anomaly connector gives the series it watches and its alerts,
// beyond the metric names in conventions.go.
const (
	// Values of LabelMetric for the RED series derived from span metrics.
	// Latency quantiles are AnomalyMetricLatencyPrefix + the percentile.
	AnomalyMetricRequestRate   = "request_rate"
	AnomalyMetricErrorRatio    = "error_ratio"
	AnomalyMetricLatencyPrefix = "latency_p"
	AnomalyMetricLatencyP95    = AnomalyMetricLatencyPrefix + "95"
	AnomalyMetricLatencyP99    = AnomalyMetricLatencyPrefix + "99"

	// AnomalyAlertName is the alert.name of every anomaly alert: one name
	// lets the router group a service's simultaneous anomalies.
	AnomalyAlertName = "ServiceAnomaly"

	// AttrAnomalyReason says why the detector flagged or cleared a series
	// (above_band, sustained_decrease, ...).
	AttrAnomalyReason = "anomaly.reason"
)
