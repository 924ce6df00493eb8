// Package fleet runs Vigil's fleet mode (README, "Running a fleet")
// through the built binary on loopback: gateways from
// collector/config/gateway.yaml, evaluators from
// collector/config/evaluator.yaml, a real Redis (Debian's redis-server,
// internal/testutil/redistest) as the shared store and the strict
// PagerDuty fake. Membership changes as the static resolver's would: a
// gateway restarted with a new VIGIL_EVALUATORS list, its queue kept on
// disk; and through the k8s resolver against a real kube-apiserver
// (internal/testutil/kubetest), whose EndpointSlice the test edits
// (k8s_test.go). Besides the scenarios: the anomaly detectors'
// baselines move with a service, silences set on one evaluator's
// console apply on all of them (amtool), and every console lists the
// alerts of the whole fleet; with collector/config/storage.yaml, the
// evaluators store logs in a real Loki exactly once and errors in the
// Sentry fake while ClickHouse is unreachable, and what one queued goes
// out from it after a handover and its restart (storage_test.go).
// Intervals are shortened with --set so each scenario takes well
// under a minute of traffic; the tests of this package run one after
// another (no t.Parallel), so no two fleets compete for the CPU.
package fleet
