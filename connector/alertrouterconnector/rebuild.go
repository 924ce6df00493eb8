package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/alerts"
)

// running remembers, by component ID, what each router last ran with,
// across the collector's rebuilds of its pipelines. On SIGHUP the
// collector shuts every component down and builds new ones, and a router
// is no shared component (package sharedcomponent): it joins one pair of
// signals, logs to logs, and a shared value is forgotten at its last
// Shutdown anyway. So what a router runs with that is not in the storage
// extension would be lost with it:
//
//   - the routing and the file silences in force. A routing or silences
//     file broken meanwhile must not fail the new router's start, which
//     makes the collector exit and stops every page: the new router runs
//     the routing and silences the old one ran, logs why, and applies the
//     files once they are fixed (the Reloader on the flush tick). For the
//     same reason Config.Validate, which the collector runs again before
//     the rebuild, leaves the files to Start once a router ran
//     (checkFiles). The slo connector does the same for its specs.
//   - without a storage extension, the store in memory that holds the
//     notification log, the console's silences and the state of
//     until_resolved silences: kept, a SIGHUP behaves as it does with
//     storage (no page repeated, none of those silences lost, an
//     until_resolved silence that ended stays ended), and only a restart
//     forgets them.
//
// Entries are never removed: a router the new configuration no longer has
// is not told so. A router re-added later under the same ID (after one or
// more rebuilds without it) therefore resumes from what it ran with when
// it was removed, as with storage it restores its notification log from
// the storage extension; only an ID that never ran in this process starts
// as at a first start. What an entry holds is small (the routing, the
// file silences, and without storage the notification log of open
// incidents).
var running = struct {
	sync.Mutex
	runs map[component.ID]lastRun
}{runs: map[component.ID]lastRun{}}

// lastRun is what a router ran with.
type lastRun struct {
	// config is the routing in force, read from routingFrom ("" for the
	// built-in routing), which is not the routing option of the
	// configuration when a file it names never loaded.
	config      *alerts.Config
	routingFrom string
	// silences are the file silences in force, read from silencesFrom
	// ("": none), likewise.
	silences     alerts.FileSilences
	silencesFrom string
	// store is the router's store without a storage extension; nil with
	// one.
	store *alerts.MemStore
}

// remember records what the router runs with, for a rebuild.
func (r *router) remember() {
	routingFrom, silencesFrom := r.filesInForce()
	running.Lock()
	defer running.Unlock()
	running.runs[r.set.ID] = lastRun{
		config: r.engine.Config(), routingFrom: routingFrom,
		silences: r.engine.FileSilences(), silencesFrom: silencesFrom,
		store: r.memStore,
	}
}

// previousRun returns what the router of id last ran with in this
// process, if one ran.
func previousRun(id component.ID) (lastRun, bool) {
	running.Lock()
	defer running.Unlock()
	prev, ok := running.runs[id]
	return prev, ok
}

// filesInForce returns the files the routing and the file silences in
// force were read from ("": the built-in routing, no silences).
func (r *router) filesInForce() (routing, silences string) {
	r.filesMu.Lock()
	defer r.filesMu.Unlock()
	return r.routingFrom, r.silencesFrom
}

// load applies the routing and silences files to the engine at start. At
// a first start a file that does not load (or a receiver of the routing
// that Receivers does not map) fails it, with every problem
// file:line:col. When a router of this ID ran before in this process (the
// collector rebuilt its pipelines), the engine starts from what that one
// ran with, the files override it where they load, and what does not load
// is logged: the router keeps routing as before instead of the collector
// exiting. The Reloader has taken the broken content as read, so it is
// not reported again at each flush, and a fixed file applies at the next
// one. A routing or silences option that now names another file is
// treated alike: what ran stays until the new file loads, with an error
// naming both files, since an operator who points the router at a new
// file expects it in force. A silences file found missing lifts the
// silences that ran, logged as when it is removed while the router runs.
func (r *router) load(now time.Time) error {
	r.reloader = &alerts.Reloader{ConfigPath: r.cfg.Routing, SilencesPath: r.cfg.Silences, Check: r.cfg.checkRouting, Applied: r.logApplied}
	prev, rebuilt := previousRun(r.set.ID)
	if rebuilt {
		// Only what the files would set: a routing or silences option
		// removed from the configuration since means the built-in routing
		// or no silences, as at a first start.
		r.filesMu.Lock()
		if r.cfg.Routing != "" {
			r.engine.SetConfig(prev.config, now)
			r.routingFrom = prev.routingFrom
		}
		if r.cfg.Silences != "" && prev.silences.Len() > 0 {
			r.engine.ResumeFileSilences(prev.silences, now)
			r.silencesFrom = prev.silencesFrom
			r.reloader.ResumedSilences()
		}
		r.filesMu.Unlock()
	}
	err := r.reloader.Reload(r.engine, now)
	if err == nil {
		return nil
	}
	if !rebuilt {
		return fmt.Errorf("%s: %w", loadingFiles, err)
	}
	// The routing kept must lead somewhere with the receivers of the new
	// configuration, or its notifications would be lost unseen. Its
	// receivers are named without the position they had in the file,
	// which may hold other lines by now.
	if r.cfg.Routing != "" && r.engine.Config() == prev.config {
		var names []string
		for _, rcv := range r.cfg.unmapped(prev.config) {
			names = append(names, fmt.Sprintf("%q", rcv.Name))
		}
		if len(names) > 0 {
			which := "its receiver " + names[0] + " has"
			if len(names) > 1 {
				which = "its receivers " + strings.Join(names, ", ") + " have"
			}
			return fmt.Errorf("%s: %w; and the routing that ran before the collector reloaded cannot be kept: %s no pipelines in the alertrouter connector's receivers",
				loadingFiles, err, which)
		}
	}
	r.logger.Error("alert routing or silences file rejected when the collector reloaded; keeping the routing and silences that ran before, until the file is fixed", zap.Error(err))
	routingFrom, silencesFrom := r.filesInForce()
	if r.cfg.Routing != "" && routingFrom != r.cfg.Routing {
		inForce := routingFrom
		if inForce == "" {
			inForce = "the built-in routing"
		}
		r.logger.Error("the alert routing in force is not the configured file's: the routing that ran before the collector reloaded stays until the configured file loads",
			zap.String("configured", r.cfg.Routing), zap.String("in_force", inForce))
	}
	if r.cfg.Silences != "" && silencesFrom != "" && silencesFrom != r.cfg.Silences {
		r.logger.Error("the silences in force are not the configured file's: the silences that ran before the collector reloaded stay until the configured file loads",
			zap.String("configured", r.cfg.Silences), zap.String("in_force", silencesFrom))
	}
	return nil
}

// loadingFiles heads the error of files that do not load, at start and in
// Config.Validate alike.
const loadingFiles = "loading alert routing"

// checkFiles is Config.Validate's check of the routing and silences
// files: the Reloader of Start, on an engine thrown away, so that
// `vigil validate`, the collector's configuration check and a first start
// refuse the same files with the same message, every problem
// file:line:col. It keeps nothing and starts nothing.
//
// The collector validates the configuration again each time it rebuilds
// its pipelines (SIGHUP, a changed configuration), and exits when that
// fails. Once a router has run in this process the files are therefore
// left to Start, which keeps what ran (see running) or, for a router
// that never ran, fails as it would have here.
func (c *Config) checkFiles() error {
	running.Lock()
	rebuilding := len(running.runs) > 0
	running.Unlock()
	if rebuilding || (c.Routing == "" && c.Silences == "") {
		return nil
	}
	reloader := &alerts.Reloader{ConfigPath: c.Routing, SilencesPath: c.Silences, Check: c.checkRouting}
	if err := reloader.Reload(alerts.NewEngine(nil, nil), time.Now()); err != nil {
		return fmt.Errorf("%s: %w", loadingFiles, err)
	}
	return nil
}
