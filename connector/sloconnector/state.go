package sloconnector

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigil-otel/vigil/internal/cumdelta"
)

// stateVersion is the version of the checkpoint envelope.
const stateVersion = 1

// checkpointState is what the connector stores: the tracker's snapshot
// (counts and alert states) and the alerts announced as firing, so that
// after a restart neither is an alert announced twice nor is one left
// open downstream.
type checkpointState struct {
	Version int                     `json:"version"`
	Tracker json.RawMessage         `json:"tracker"`
	Firing  map[string]*firingAlert `json:"firing,omitempty"`
	// CumulativeByService are the last points of cumulative metric
	// streams (package internal/cumdelta), by service and stream key.
	// Checkpoints of earlier versions kept them unsplit, as "cumulative"
	// or "streams": those are not read, and each stream's next point
	// becomes its baseline.
	CumulativeByService map[string]map[string]cumdelta.State `json:"cumulative_by_service,omitempty"`
	// Cumulative, in the checkpoint of one service of a fleet
	// (fleet.go), are that service's streams.
	Cumulative map[string]cumdelta.State `json:"cumulative,omitempty"`
}

func (c *sloConnector) snapshot() ([]byte, error) {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	snap, err := c.tracker.Snapshot()
	if err != nil {
		return nil, err
	}
	return c.envelope(snap)
}

// envelope is the checkpoint of the tracker's snapshot snap with the
// firing set and the cumulative streams as they are now. The caller
// excludes reloads and evaluations (reloadMu, or being the evaluation).
func (c *sloConnector) envelope(snap json.RawMessage) ([]byte, error) {
	return json.Marshal(checkpointState{Version: stateVersion, Tracker: snap, Firing: c.events.firing, CumulativeByService: c.metrics.snapshotStreams()})
}

func (c *sloConnector) restore(data []byte) error {
	var st checkpointState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("checkpoint version %d, want %d", st.Version, stateVersion)
	}
	var errs []error
	if len(st.Tracker) > 0 {
		errs = append(errs, c.tracker.Restore(st.Tracker))
	}
	for fp, fa := range st.Firing {
		if fa != nil && fa.Labels != nil {
			c.events.firing[fp] = fa
		}
	}
	errs = append(errs, c.metrics.restoreStreams(st.CumulativeByService))
	return errors.Join(errs...)
}
