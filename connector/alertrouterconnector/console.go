package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/amapi"
	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/statuspage"
	"github.com/vigil-otel/vigil/internal/statusboard"
)

// startConsole serves the Alertmanager API v2 and the status page on the
// console's listener. Auth and TLS are confighttp's, from the config;
// cross-origin browser POSTs (CSRF against the page's forms or the API)
// are refused by net/http's CrossOriginProtection, which lets same-origin
// forms and non-browser clients (amtool, Grafana's server-side proxy)
// through.
func (r *router) startConsole(ctx context.Context, host component.Host) error {
	if !r.cfg.Console.HasValue() {
		return nil
	}
	cc := r.cfg.Console.Get()
	mux := http.NewServeMux()
	amapi.New(amapi.Settings{
		Engine: r.engine, Now: r.now, Started: r.now(), Version: r.set.BuildInfo.Version,
		RoutingText: r.routingText,
		Ready:       func() bool { return r.sendCtx != nil && r.sendCtx.Err() == nil },
		Alerts:      consoleAlerts{r},
	}).Register(mux)
	statuspage.New(statuspage.Settings{
		Engine: r.engine, Board: statusboard.Default, Now: r.now, TraceURL: cc.TraceURL,
		Alerts: consoleAlerts{r}.Alerts, Fleet: consoleAlerts{r}.boards,
	}).Register(mux)
	handler := http.NewCrossOriginProtection().Handler(mux)
	server, err := cc.ServerConfig.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, handler)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	ln, err := cc.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("console: listening on %s: %w", cc.ServerConfig.NetAddr.Endpoint, err)
	}
	r.console = server
	r.consoleDone = make(chan struct{})
	r.logger.Info("alert console (Alertmanager API v2 and status page) listening", zap.String("endpoint", ln.Addr().String()))
	go func() {
		defer close(r.consoleDone)
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// viewReadTimeout bounds the reads of the other evaluators' alerts for
// one console request.
const viewReadTimeout = 2 * time.Second

// consoleAlerts lists the alerts the console shows: the engine's, and in
// a fleet those the other evaluators publish (alerts.FleetView), so a
// console behind a Service in front of every evaluator shows every
// firing alert whichever evaluator answers. When the shared store does
// not answer, the console shows what it could read, this evaluator's
// alerts at least.
type consoleAlerts struct{ r *router }

func (c consoleAlerts) Alerts(ctx context.Context, now time.Time) []alerts.AlertStatus {
	return fleetList(c, ctx, now, c.r.engine.Alerts, c.r.view.Alerts)
}

func (c consoleAlerts) Groups(ctx context.Context, now time.Time) []alerts.GroupStatus {
	return fleetList(c, ctx, now, c.r.engine.Groups, c.r.view.Groups)
}

// fleetList is local's list on a single node, the fleet's otherwise.
func fleetList[T any](c consoleAlerts, ctx context.Context, now time.Time,
	local func(time.Time) []T, fleet func(context.Context, time.Time) ([]T, error)) []T {
	if c.r.view == nil {
		return local(now)
	}
	ctx, cancel := context.WithTimeout(ctx, viewReadTimeout)
	defer cancel()
	out, err := fleet(ctx, now)
	c.warnPartial(err)
	return out
}

// boards returns the SLO and anomaly status the other evaluators of a
// fleet published with their alerts (publishedBoard); nil on a single
// node.
func (c consoleAlerts) boards(ctx context.Context, now time.Time) []statusboard.Snapshot {
	if c.r.view == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, viewReadTimeout)
	defer cancel()
	attachments, err := c.r.view.Attachments(ctx, now)
	var out []statusboard.Snapshot
	for _, a := range attachments {
		var snap statusboard.Snapshot
		if decodeErr := json.Unmarshal(a.Data, &snap); decodeErr != nil {
			err = errors.Join(err, fmt.Errorf("decoding the status of evaluator %s: %w", a.Evaluator, decodeErr))
			continue
		}
		out = append(out, snap)
	}
	c.warnPartial(err)
	return out
}

// publishedHistory bounds the budget history of each SLO series an
// evaluator publishes for the others' status pages: enough for the
// chart's shape, a quarter of what the board keeps.
const publishedHistory = statusboard.HistoryPoints / 4

// publishedBoard is the board's snapshot as this evaluator publishes it
// with its alerts, encoded again only when the board changed. Called by
// the persist loop alone.
func (r *router) publishedBoard() json.RawMessage {
	if v := statusboard.Default.Version(); r.board == nil || v != r.boardVersion {
		data, err := json.Marshal(statusboard.Default.Snapshot(publishedHistory))
		if err != nil {
			r.logger.Warn("encoding the SLO and anomaly status for the fleet's consoles", zap.Error(err))
			return r.board
		}
		r.board, r.boardVersion = data, v
	}
	return r.board
}

// warnPartial logs, at most once a minute, that a console request could
// not read what other evaluators publish.
func (c consoleAlerts) warnPartial(err error) {
	if err == nil {
		return
	}
	now := time.Now().UnixNano()
	if last := c.r.viewWarned.Load(); last != 0 && now-last < int64(time.Minute) || !c.r.viewWarned.CompareAndSwap(last, now) {
		return
	}
	c.r.logger.Warn("the console lists this evaluator's alerts without those of other evaluators it could not read (said at most once a minute)", zap.Error(err))
}

// evaluatorName names this evaluator's alert view: the host name (a
// pod's name) and a random suffix, unique even for several evaluators on
// one host and across restarts (the view of the previous run is then
// stale, not overwritten).
func evaluatorName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "evaluator"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// stopConsole stops the console's server, letting requests in progress
// finish until ctx ends.
func (r *router) stopConsole(ctx context.Context) error {
	if r.console == nil {
		return nil
	}
	err := r.console.Shutdown(ctx)
	<-r.consoleDone
	r.console = nil
	return err
}

// routingText is the routing configuration for the API's status: the
// routing file as written, or the built-in routing in its format.
func (r *router) routingText() string {
	if r.cfg.Routing != "" {
		data, err := os.ReadFile(r.cfg.Routing)
		if err != nil {
			return fmt.Sprintf("# %s: %v\n", r.cfg.Routing, err)
		}
		return string(data)
	}
	d := alerts.DefaultConfig()
	rule := d.InhibitRules[0]
	return fmt.Sprintf(`# Vigil's built-in routing (no routing file configured)
global:
  resolve_timeout: %s
receivers:
  - name: %s
route:
  receiver: %s
  group_by: [%s]
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
inhibit_rules:
  - source_matchers: ['%s']
    target_matchers: ['%s']
    equal: [%s]
`, model.Duration(d.ResolveTimeout), d.Route.Receiver, d.Route.Receiver, strings.Join(d.Route.GroupBy, ", "),
		model.Duration(d.Route.GroupWait), model.Duration(d.Route.GroupInterval), model.Duration(d.Route.RepeatInterval),
		strings.Trim(rule.SourceMatchers.String(), "{}"), strings.Trim(rule.TargetMatchers.String(), "{}"), strings.Join(rule.Equal, ", "))
}
