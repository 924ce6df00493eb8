package alertrouterconnector

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
)

// noRouterRan makes the test's process one where no router has run, as
// at `vigil validate` or a collector's first start: Validate then reads
// the files, and Start refuses ones that do not load (other tests of the
// package start routers, which running remembers).
func noRouterRan(t *testing.T) {
	t.Helper()
	running.Lock()
	saved := running.runs
	running.runs = map[component.ID]lastRun{}
	running.Unlock()
	t.Cleanup(func() {
		running.Lock()
		running.runs = saved
		running.Unlock()
	})
}

// writeFile writes content to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// filesConfig is a router's configuration reading the routing and
// silences files at the given paths, its receivers those of the routing
// constant, each to a pipeline of its own.
func filesConfig(routingPath, silencesPath string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.FlushInterval = time.Hour // ticks come from the test
	cfg.Routing, cfg.Silences = routingPath, silencesPath
	cfg.Receivers = map[string][]pipeline.ID{"oncall": {pipeOncall}, "tickets": {pipeTickets}, "archive": {pipeArchive}}
	return cfg
}

// built is a router as the collector builds it, with a sink per pipeline.
type built struct {
	r     *router
	sinks map[pipeline.ID]*flakySink
	logs  *observer.ObservedLogs
}

// build creates the router of id with cfg, logging to an observer.
func build(t *testing.T, id component.ID, cfg *Config) *built {
	t.Helper()
	b := &built{sinks: map[pipeline.ID]*flakySink{}}
	consumers := map[pipeline.ID]consumer.Logs{}
	for _, p := range []pipeline.ID{pipeOncall, pipeTickets, pipeArchive} {
		b.sinks[p] = &flakySink{}
		consumers[p] = b.sinks[p]
	}
	core, logs := observer.New(zapcore.InfoLevel)
	b.logs = logs
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = id
	set.Logger = zap.New(core)
	c, err := NewFactory().CreateLogsToLogs(context.Background(), set, cfg, connector.NewLogsRouter(consumers))
	require.NoError(t, err)
	b.r = c.(*router)
	// The events' time: ingest and flush on one fake clock (tick).
	b.r.now = func() time.Time { return t0 }
	return b
}

// triggers waits until the sink of p holds want notifications and returns
// their alert names.
func (b *built) triggers(t *testing.T, p pipeline.ID, want int) []string {
	t.Helper()
	var names []string
	require.Eventually(t, func() bool {
		names = nil
		for _, ld := range b.sinks[p].AllLogs() {
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						v, _ := lr.Attributes().Get("alert.name")
						names = append(names, v.Str())
					}
				}
			}
		}
		return len(names) >= want
	}, 5*time.Second, 5*time.Millisecond)
	return names
}

func (b *built) consume(t *testing.T, lds ...plog.Logs) {
	t.Helper()
	for _, ld := range lds {
		require.NoError(t, b.r.ConsumeLogs(context.Background(), ld))
	}
}

// Files of the tests below, with the position of their problem.
const (
	// badDuration's group_wait is on line 5, its value at column 15.
	badDuration = "receivers:\n  - name: oncall\nroute:\n  receiver: oncall\n  group_wait: 5x\n"
	// unmapped defines pager2, which no pipeline takes, on line 3,
	// column 11.
	unmapped = "receivers:\n  - name: oncall\n  - name: pager2\nroute: {receiver: oncall}\n"
	// endless's silence, on line 2, column 5, has no end.
	endless = "silences:\n  - id: s\n    matchers: ['service_name=\"checkout\"']\n"
	// ticketsSilenced silences checkout's ticket alert.
	ticketsSilenced = "silences:\n  - id: no-tickets\n    matchers: ['alertname=\"SLOBurnRate-checkout-availability-ticket\"']\n    until_resolved: true\n"
)

// TestValidateChecksFiles: Validate loads the routing and silences files
// as Start does, so `vigil validate` and the collector's configuration
// check at a first start refuse what Start would, with the same message,
// every problem file:line:col.
func TestValidateChecksFiles(t *testing.T) {
	noRouterRan(t)
	dir := t.TempDir()
	good := writeFile(t, dir, "routing.yml", routing)
	silences := writeFile(t, dir, "silences.yml", ticketsSilenced)
	bad := writeFile(t, dir, "bad-duration.yml", badDuration)
	pager2 := writeFile(t, dir, "pager2.yml", unmapped)
	noEnd := writeFile(t, dir, "endless.yml", endless)
	missing := filepath.Join(dir, "nope.yml")
	tests := []struct {
		name              string
		routing, silences string
		want              []string // substrings of the error, in order; none: valid
	}{
		{name: "routing and silences", routing: good, silences: silences},
		{name: "routing without silences", routing: good},
		{name: "a silences file not there yet: no silences", routing: good, silences: missing},
		{name: "a routing option bad", routing: bad, want: []string{
			"loading alert routing: " + bad + `:5:15: bad duration "5x" for group_wait`,
		}},
		{name: "a receiver of the routing without pipelines", routing: pager2, want: []string{
			"loading alert routing: " + pager2 + `:3:11: receiver "pager2" of the routing file has no pipelines in the alertrouter connector's receivers`,
		}},
		{name: "a silence without end", routing: good, silences: noEnd, want: []string{
			"loading alert routing: " + noEnd + `:2:5: silence "s" needs ends_at or until_resolved: true`,
		}},
		{name: "both files broken", routing: bad, silences: noEnd, want: []string{
			bad + ":5:15: ", noEnd + ":2:5: ",
		}},
		{name: "a routing file that does not exist", routing: missing, want: []string{
			"loading alert routing: open " + missing + ": no such file or directory",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filesConfig(tt.routing, tt.silences)
			err := cfg.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			rest := err.Error()
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				require.GreaterOrEqual(t, i, 0, "%q lacks %q", err, w)
				rest = rest[i+len(w):]
			}

			// A first start fails with the very same message.
			b := build(t, component.NewIDWithName(metadata.Type, "first"), cfg)
			startErr := b.r.Start(context.Background(), componenttest.NewNopHost())
			require.NoError(t, b.r.Shutdown(context.Background()))
			require.Error(t, startErr)
			assert.Equal(t, err.Error(), startErr.Error())
		})
	}
	assert.Empty(t, running.runs, "Validate remembers nothing, and the failed starts neither")
}

// TestValidateLeavesFilesToARebuild: once a router ran in the process,
// the collector's validation of a rebuild (SIGHUP, a changed
// configuration) passes broken files, so that Start keeps the routing
// that ran instead of the collector exiting
// (TestRebuildWithBrokenFilesKeepsRunningRouting).
func TestValidateLeavesFilesToARebuild(t *testing.T) {
	noRouterRan(t)
	dir := t.TempDir()
	cfg := filesConfig(writeFile(t, dir, "routing.yml", badDuration), "")
	require.Error(t, cfg.Validate())

	b := build(t, component.NewIDWithName(metadata.Type, "validate"), filesConfig(writeFile(t, dir, "good.yml", routing), ""))
	require.NoError(t, b.r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, b.r.Shutdown(context.Background()))
	require.NoError(t, cfg.Validate())
	cfg.FlushInterval = 0
	assert.ErrorContains(t, cfg.Validate(), "flush_interval 0s: must be positive", "the rest is still checked")
}

// TestRebuildWithBrokenFilesKeepsRunningRouting: the collector handles
// SIGHUP by shutting every component down and building new ones. A
// routing or silences file broken meanwhile must not fail the new
// router's start (the collector would exit and stop paging): it runs the
// routing and silences the old one ran, logs the problems file:line:col,
// and applies the files at the flush after they are fixed.
func TestRebuildWithBrokenFilesKeepsRunningRouting(t *testing.T) {
	noRouterRan(t)
	id := component.NewIDWithName(metadata.Type, "rebuild")
	dir := t.TempDir()
	routingPath := writeFile(t, dir, "routing.yml", routing)
	silencesPath := writeFile(t, dir, "silences.yml", ticketsSilenced)
	first := build(t, id, filesConfig(routingPath, silencesPath))
	require.NoError(t, first.r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, first.r.Shutdown(context.Background()))

	writeFile(t, dir, "routing.yml", badDuration)
	writeFile(t, dir, "silences.yml", endless)
	cfg := filesConfig(routingPath, silencesPath) // the collector unmarshals a new configuration
	require.NoError(t, cfg.Validate(), "the rebuild's validation leaves the files to Start")
	second := build(t, id, cfg)
	require.NoError(t, second.r.Start(context.Background(), componenttest.NewNopHost()), "broken files on a rebuild keep the router up")
	defer func() { require.NoError(t, second.r.Shutdown(context.Background())) }()
	rejected := second.logs.FilterMessageSnippet("keeping the routing and silences that ran before")
	require.Equal(t, 1, rejected.Len())
	assert.Equal(t, zapcore.ErrorLevel, rejected.All()[0].Level)
	problems := rejected.All()[0].ContextMap()["error"]
	assert.Contains(t, problems, routingPath+`:5:15: bad duration "5x" for group_wait`, "the log says where")
	assert.Contains(t, problems, silencesPath+`:2:5: silence "s" needs ends_at`, "the log says where")

	// The routing that ran: the page to oncall, copied to archive, where
	// the built-in routing would send it to "default", which no pipeline
	// takes. The silence that ran: the ticket's.
	now := t0
	second.consume(t, event("ticket", "firing"), event("page", "firing"))
	second.r.tick(now)
	page, ticket := "SLOBurnRate-checkout-availability-page", "SLOBurnRate-checkout-availability-ticket"
	assert.Equal(t, map[string]status{
		page:   {receivers: []string{"archive", "oncall"}},
		ticket: {receivers: []string{"tickets"}, silencedBy: []string{alerts.FileSilenceID("no-tickets")}},
	}, statuses(second.r.engine, now))
	assert.Equal(t, []string{page}, second.triggers(t, pipeOncall, 1))
	// Not reported again at each flush while the files stay as they are.
	second.r.tick(now.Add(time.Second))
	assert.Equal(t, 1, second.logs.FilterLevelExact(zapcore.ErrorLevel).Len())

	// Fixed: pages to tickets, and no silence. Both apply at the next flush.
	writeFile(t, dir, "routing.yml", strings.Replace(routing, "receiver: oncall", "receiver: tickets", 1))
	writeFile(t, dir, "silences.yml", "silences: []\n")
	second.r.tick(now.Add(2 * time.Second))
	assert.Equal(t, 1, second.logs.FilterMessage("alert routing file applied").Len())
	assert.Equal(t, 1, second.logs.FilterMessage("silences file applied").Len())
	assert.Equal(t, map[string]status{
		page:   {receivers: []string{"archive", "tickets"}},
		ticket: {receivers: []string{"tickets"}},
	}, statuses(second.r.engine, now.Add(2*time.Second)))
	assert.Equal(t, []string{page}, second.triggers(t, pipeTickets, 1), "the fixed routing's page route")
}

// status is where an alert goes and the silences that hold it back.
type status struct {
	receivers, silencedBy []string
}

// statuses returns the status of each firing alert at now, by alert name.
func statuses(e *alerts.Engine, now time.Time) map[string]status {
	out := map[string]status{}
	for _, a := range e.Alerts(now) {
		out[a.Alert.Labels[alerts.LabelAlertName]] = status{receivers: a.Receivers, silencedBy: a.SilencedBy}
	}
	return out
}

// TestRebuildRefusesRoutingThatNoLongerFits: a rebuild whose routing file
// does not load keeps the routing that ran only if the receivers of the
// new configuration still take all of its receivers; otherwise its
// notifications would vanish, and the start fails, saying both why.
func TestRebuildRefusesRoutingThatNoLongerFits(t *testing.T) {
	noRouterRan(t)
	id := component.NewIDWithName(metadata.Type, "refit")
	dir := t.TempDir()
	routingPath := writeFile(t, dir, "routing.yml", routing)
	first := build(t, id, filesConfig(routingPath, ""))
	require.NoError(t, first.r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, first.r.Shutdown(context.Background()))

	writeFile(t, dir, "routing.yml", badDuration)
	cfg := filesConfig(routingPath, "")
	delete(cfg.Receivers, "archive")
	require.NoError(t, cfg.Validate())
	second := build(t, id, cfg)
	err := second.r.Start(context.Background(), componenttest.NewNopHost())
	require.NoError(t, second.r.Shutdown(context.Background()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), routingPath+`:5:15: bad duration "5x" for group_wait`)
	assert.Contains(t, err.Error(), `the routing that ran before the collector reloaded cannot be kept: its receiver "archive" has no pipelines in the alertrouter connector's receivers`)
}

// TestBuiltInRoutingHasNoPosition: the built-in routing's receiver, not
// written in any file, is reported without a position.
func TestBuiltInRoutingHasNoPosition(t *testing.T) {
	cfg := &Config{Receivers: map[string][]pipeline.ID{"oncall": {pipeOncall}}}
	assert.EqualError(t, cfg.checkRouting(alerts.DefaultConfig()),
		`receiver "default" of the routing file has no pipelines in the alertrouter connector's receivers`)
}

// rebuild shuts down b, if any, and starts the router of id with cfg, as
// the collector does on SIGHUP; a start that fails fails the test.
func rebuild(t *testing.T, b *built, id component.ID, cfg *Config, now time.Time) *built {
	t.Helper()
	if b != nil {
		require.NoError(t, b.r.Shutdown(context.Background()))
	}
	require.NoError(t, cfg.Validate())
	next := build(t, id, cfg)
	next.r.now = func() time.Time { return now }
	require.NoError(t, next.r.Start(context.Background(), componenttest.NewNopHost()))
	return next
}

const (
	pageAlert   = "SLOBurnRate-checkout-availability-page"
	ticketAlert = "SLOBurnRate-checkout-availability-ticket"
)

// pagesTo is routing with pages sent to receiver (and copied to archive).
func pagesTo(receiver string) string {
	return strings.Replace(routing, "receiver: oncall", "receiver: "+receiver, 1)
}

// TestRebuildKeepsWhatTheFlushLoopApplied: a rebuild keeps the routing the
// previous router ran last, not the one it started with: a file fixed
// while a router kept an older routing, then broken again before the
// next SIGHUP, leaves the fixed routing running.
func TestRebuildKeepsWhatTheFlushLoopApplied(t *testing.T) {
	noRouterRan(t)
	id := component.NewIDWithName(metadata.Type, "applied")
	dir := t.TempDir()
	routingPath := writeFile(t, dir, "routing.yml", routing) // v1: pages to oncall
	b := rebuild(t, nil, id, filesConfig(routingPath, ""), t0)

	writeFile(t, dir, "routing.yml", badDuration)
	b = rebuild(t, b, id, filesConfig(routingPath, ""), t0)
	writeFile(t, dir, "routing.yml", pagesTo("tickets")) // v2
	b.r.tick(t0.Add(time.Second))
	require.Equal(t, 1, b.logs.FilterMessage("alert routing file applied").Len())

	writeFile(t, dir, "routing.yml", badDuration)
	b = rebuild(t, b, id, filesConfig(routingPath, ""), t0.Add(2*time.Second))
	defer func() { require.NoError(t, b.r.Shutdown(context.Background())) }()
	b.consume(t, event("page", "firing"))
	assert.Equal(t, map[string]status{pageAlert: {receivers: []string{"archive", "tickets"}}},
		statuses(b.r.engine, t0.Add(2*time.Second)), "v2, which ran last, not v1")
}

// TestRebuildWithoutSilencesOption: a silences option removed from the
// configuration means no silences at the rebuild, as at a first start:
// the silences of the file that ran are not kept.
func TestRebuildWithoutSilencesOption(t *testing.T) {
	noRouterRan(t)
	id := component.NewIDWithName(metadata.Type, "nosilences")
	dir := t.TempDir()
	routingPath := writeFile(t, dir, "routing.yml", routing)
	silencesPath := writeFile(t, dir, "silences.yml", ticketsSilenced)
	b := rebuild(t, nil, id, filesConfig(routingPath, silencesPath), t0)

	b = rebuild(t, b, id, filesConfig(routingPath, ""), t0)
	defer func() { require.NoError(t, b.r.Shutdown(context.Background())) }()
	b.consume(t, event("ticket", "firing"))
	assert.Equal(t, map[string]status{ticketAlert: {receivers: []string{"tickets"}}}, statuses(b.r.engine, t0))
	assert.Equal(t, 0, b.r.engine.FileSilences().Len())
}

// TestRebuildSilencesFileGone: a silences file removed while the collector
// reloads lifts the silences that ran, logged as when it is removed while
// the router runs; a silences option that now names a file that does not
// exist lifts them too, the log naming the file they came from.
func TestRebuildSilencesFileGone(t *testing.T) {
	for _, moved := range []bool{false, true} {
		t.Run(map[bool]string{false: "removed", true: "option names a missing file"}[moved], func(t *testing.T) {
			noRouterRan(t)
			id := component.NewIDWithName(metadata.Type, "gone")
			dir := t.TempDir()
			routingPath := writeFile(t, dir, "routing.yml", routing)
			silencesPath := writeFile(t, dir, "silences.yml", ticketsSilenced)
			b := rebuild(t, nil, id, filesConfig(routingPath, silencesPath), t0)

			configured := silencesPath
			if moved {
				configured = filepath.Join(dir, "other.yml")
			} else {
				require.NoError(t, os.Remove(silencesPath))
			}
			b = rebuild(t, b, id, filesConfig(routingPath, configured), t0)
			defer func() { require.NoError(t, b.r.Shutdown(context.Background())) }()
			b.consume(t, event("ticket", "firing"))
			assert.Equal(t, map[string]status{ticketAlert: {receivers: []string{"tickets"}}}, statuses(b.r.engine, t0), "lifted")

			lifted := b.logs.FilterMessageSnippet("are lifted").All()
			require.Len(t, lifted, 1)
			assert.Equal(t, zapcore.InfoLevel, lifted[0].Level)
			fields := lifted[0].ContextMap()
			assert.Equal(t, configured, fields["path"])
			if moved {
				assert.Equal(t, "silences file not found; the silences of the previous silences file, which ran before the collector reloaded, are lifted", lifted[0].Message)
				assert.Equal(t, silencesPath, fields["previous_path"])
			} else {
				assert.Equal(t, "silences file removed; the silences it held are lifted", lifted[0].Message)
			}
			b.r.tick(t0.Add(time.Second))
			assert.Equal(t, 1, b.logs.FilterMessageSnippet("are lifted").Len(), "once")
		})
	}
}

// TestRebuildWithFilesMovedKeepsWhatRan: a routing or silences option that
// names another file at a rebuild, one that does not load, is treated as a
// broken file at the same path (the router keeps paging with what ran,
// rather than the collector exiting or the built-in routing taking over),
// and an error says which file is in force instead of the configured
// one, at each rebuild until the configured file loads.
func TestRebuildWithFilesMovedKeepsWhatRan(t *testing.T) {
	noRouterRan(t)
	id := component.NewIDWithName(metadata.Type, "moved")
	dir := t.TempDir()
	oldRouting := writeFile(t, dir, "routing.yml", routing)
	oldSilences := writeFile(t, dir, "silences.yml", ticketsSilenced)
	newRouting := writeFile(t, dir, "routing-v2.yml", badDuration)
	newSilences := writeFile(t, dir, "silences-v2.yml", endless)
	b := rebuild(t, nil, id, filesConfig(oldRouting, oldSilences), t0)

	inForce := func(b *built) map[string]string {
		out := map[string]string{}
		for _, e := range b.logs.FilterMessageSnippet("in force are not the configured file's").All() {
			require.Equal(t, zapcore.ErrorLevel, e.Level)
			out["silences "+e.ContextMap()["configured"].(string)] = e.ContextMap()["in_force"].(string)
		}
		for _, e := range b.logs.FilterMessageSnippet("in force is not the configured file's").All() {
			require.Equal(t, zapcore.ErrorLevel, e.Level)
			out["routing "+e.ContextMap()["configured"].(string)] = e.ContextMap()["in_force"].(string)
		}
		return out
	}
	for range 2 { // the second rebuild still knows where what runs came from
		b = rebuild(t, b, id, filesConfig(newRouting, newSilences), t0)
		b.consume(t, event("page", "firing"), event("ticket", "firing"))
		assert.Equal(t, map[string]status{
			pageAlert:   {receivers: []string{"archive", "oncall"}},
			ticketAlert: {receivers: []string{"tickets"}, silencedBy: []string{alerts.FileSilenceID("no-tickets")}},
		}, statuses(b.r.engine, t0), "what ran")
		assert.Equal(t, map[string]string{"routing " + newRouting: oldRouting, "silences " + newSilences: oldSilences}, inForce(b))
	}

	// Fixed, applied at a flush; broken again at the next rebuild: the
	// configured files are the ones in force, nothing more to say.
	writeFile(t, dir, "routing-v2.yml", pagesTo("tickets"))
	writeFile(t, dir, "silences-v2.yml", "silences: []\n")
	b.r.tick(t0.Add(time.Second))
	writeFile(t, dir, "routing-v2.yml", badDuration)
	writeFile(t, dir, "silences-v2.yml", endless)
	b = rebuild(t, b, id, filesConfig(newRouting, newSilences), t0.Add(2*time.Second))
	defer func() { require.NoError(t, b.r.Shutdown(context.Background())) }()
	assert.Equal(t, 1, b.logs.FilterMessageSnippet("keeping the routing and silences that ran before").Len())
	assert.Empty(t, inForce(b))
	b.consume(t, event("page", "firing"), event("ticket", "firing"))
	assert.Equal(t, map[string]status{
		pageAlert:   {receivers: []string{"archive", "tickets"}},
		ticketAlert: {receivers: []string{"tickets"}},
	}, statuses(b.r.engine, t0.Add(2*time.Second)))
}

// TestRebuildWithoutStorageKeepsState: without a storage extension a
// SIGHUP forgets nothing a restart forgets: the new router takes the old
// one's store in memory, so a page is not sent again, a silence made on
// the console stays, and an until_resolved silence of the file that ended
// with its incident stays ended (the next incident is not silenced). A
// silence of the file keeps the start it was first read with.
func TestRebuildWithoutStorageKeepsState(t *testing.T) {
	noRouterRan(t)
	id := component.NewIDWithName(metadata.Type, "nostorage")
	dir := t.TempDir()
	routingPath := writeFile(t, dir, "routing.yml", routing)
	silencesPath := writeFile(t, dir, "silences.yml", ticketsSilenced)
	first := rebuild(t, nil, id, filesConfig(routingPath, silencesPath), t0)
	require.Nil(t, first.r.cfg.Storage)
	// The ticket alone: the page would inhibit it, and a silence that
	// muted nothing does not end.
	first.consume(t, event("ticket", "firing"))
	first.r.tick(t0)
	first.consume(t, event("ticket", "resolved"))
	first.r.tick(t0.Add(time.Second))
	fileSilence := alerts.FileSilenceID("no-tickets")
	st, ok := first.r.engine.SilenceByID(fileSilence, t0.Add(time.Second))
	require.True(t, ok)
	require.Equal(t, alerts.SilenceExpired, st.State, "ended with its incident")
	first.consume(t, event("page", "firing"))
	first.r.tick(t0.Add(time.Second))
	assert.Equal(t, []string{pageAlert}, first.triggers(t, pipeOncall, 1))
	console, err := first.r.engine.SetSilence(context.Background(), alerts.Silence{
		Matchers: mustMatchers(t, `service_name="payments"`), EndsAt: t0.Add(2 * time.Hour), CreatedBy: "oncall", Comment: "deploy",
	}, t0.Add(time.Second))
	require.NoError(t, err)

	later := t0.Add(time.Minute)
	second := rebuild(t, first, id, filesConfig(routingPath, silencesPath), later)
	_, ok = second.r.engine.SilenceByID(console, later)
	assert.True(t, ok, "the console's silence")
	st, ok = second.r.engine.SilenceByID(fileSilence, later)
	require.True(t, ok)
	assert.Equal(t, alerts.SilenceExpired, st.State, "the file's until_resolved silence stays ended")
	assert.Equal(t, t0, st.StartsAt, "first read by the first router")
	// The next incident: no longer silenced (the page, restored firing,
	// inhibits it here).
	second.consume(t, event("page", "firing"), event("ticket", "firing"))
	second.r.tick(later)
	assert.Equal(t, map[string]status{
		pageAlert:   {receivers: []string{"archive", "oncall"}},
		ticketAlert: {receivers: []string{"tickets"}},
	}, statuses(second.r.engine, later), "the next ticket is not silenced")
	require.NoError(t, second.r.Shutdown(context.Background()))
	assert.Empty(t, second.sinks[pipeOncall].AllLogs(), "the page is not sent again")
}

func mustMatchers(t *testing.T, s string) alerts.Matchers {
	t.Helper()
	m, err := alerts.ParseMatcher(s)
	require.NoError(t, err)
	return alerts.Matchers{m}
}
