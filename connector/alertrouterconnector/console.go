package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

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
	}).Register(mux)
	statuspage.New(statuspage.Settings{
		Engine: r.engine, Board: statusboard.Default, Now: r.now, TraceURL: cc.TraceURL,
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
