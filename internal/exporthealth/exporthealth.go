// Package exporthealth reports whether an exporter's backend takes what it
// sends, as component status, so that the health check (in its component
// status mode, which Vigil turns on) shows an exporter whose backend is
// down as degraded while the process keeps running and queueing.
//
// It exists because exporterhelper (collector v0.159) reports no status
// from failed exports: without it a ClickHouse outage is visible only in
// logs and failure counters.
package exporthealth // import "github.com/vigil-otel/vigil/internal/exporthealth"

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// Reporter turns export outcomes into status changes. The zero value is
// ready to use; reports go nowhere until Start.
type Reporter struct {
	mu      sync.Mutex
	host    component.Host
	failing bool
}

// Start remembers the host to report to (the one the exporter's start
// got). A host that takes no status reports ignores them.
func (r *Reporter) Start(host component.Host) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.host = host
}

// Observe reports the outcome of one export and returns err unchanged, so
// a push function can end with `return r.Observe(err)`. A retryable
// failure makes the exporter StatusRecoverableError (its data waits in the
// queue); the next success makes it StatusOK again. A permanent failure is
// the data's fault, not the backend's, and changes nothing. Only changes
// are reported.
func (r *Reporter) Observe(err error) error {
	if err != nil && consumererror.IsPermanent(err) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.host == nil || (err != nil) == r.failing {
		return err
	}
	r.failing = err != nil
	if err != nil {
		componentstatus.ReportStatus(r.host, componentstatus.NewRecoverableErrorEvent(err))
	} else {
		componentstatus.ReportStatus(r.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
	return err
}
