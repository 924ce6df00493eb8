package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/vigil-otel/vigil/alerts"
)

// Config is the configuration of the alertrouter connector.
type Config struct {
	// Routing is the path of a routing file: receivers, routing tree,
	// grouping, inhibition and time intervals, in Alertmanager's format
	// (see alerts.ParseConfig). Validate reads it; it is re-read when it
	// changes, and a file that does not parse, or names a receiver
	// Receivers does not map, keeps the previous routing (at a rebuild of
	// the collector's pipelines too: see rebuild.go). Empty means
	// alerts.DefaultConfig: every alert to the one receiver named
	// "default".
	Routing string `mapstructure:"routing"`
	// Silences is the path of a silences file (see alerts.ParseSilences),
	// read by Validate and re-read when it changes, as Routing is; a
	// missing file means no silences.
	Silences string `mapstructure:"silences"`
	// Storage is the ID of a storage extension (file_storage) that keeps
	// the notification log and silence state across restarts. Without it a
	// restart forgets which incidents are open: triggers may repeat and
	// resolves be lost (a rebuild of the collector's pipelines, SIGHUP,
	// keeps them in memory: see rebuild.go).
	Storage *component.ID `mapstructure:"storage"`
	// FlushInterval is how often the router re-reads the routing and
	// silences files and sends due notifications. Default 1s.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Receivers maps each receiver of the routing to the pipelines its
	// notifications go to, as contrib's routing connector maps routes to
	// pipelines; those pipelines' exporters (a pagerduty exporter holding
	// that receiver's routing key, say) do the sending. Each pipeline of
	// a receiver is delivered on its own, as each integration of an
	// Alertmanager receiver: its own worker, queue and notification-log
	// entries, so one that blocks or fails holds back and repeats nothing
	// at the others.
	Receivers map[string][]pipeline.ID `mapstructure:"receivers"`
	// Console serves Alertmanager's API v2 (amtool, Grafana's Alertmanager
	// data source, Karma) and the status page; off unless configured.
	Console configoptional.Optional[ConsoleConfig] `mapstructure:"console"`
}

// ConsoleConfig is the alert console's listener and links.
type ConsoleConfig struct {
	// ServerConfig is the HTTP server: endpoint (default
	// 127.0.0.1:9094, loopback), TLS, and auth through an authenticator
	// extension (bearertokenauth, basicauth), as for any collector HTTP
	// server. Expose it beyond loopback only with auth.
	ServerConfig confighttp.ServerConfig `mapstructure:",squash"`
	// TraceURL links the trace IDs of alerts on the status page:
	// "{trace_id}" in it is replaced by each ID (for example Grafana
	// Explore's or Jaeger's trace URL). Empty shows the IDs as text.
	TraceURL string `mapstructure:"trace_url"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration. It also loads the routing and
// silences files as Start does, so a file that does not parse, a routing
// file that does not exist, or a receiver of the routing that Receivers
// does not map is refused at configuration time (`vigil validate`
// included) with every problem, file:line:col, and with the message
// Start would fail with; when the collector rebuilds its pipelines the
// files are left to Start, which keeps the routing that ran (see
// checkFiles).
func (c *Config) Validate() error {
	var errs []error
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush_interval %s: must be positive", c.FlushInterval))
	}
	if len(c.Receivers) == 0 {
		errs = append(errs, fmt.Errorf("receivers: map at least one receiver to pipelines (without routing: the receiver %q)", alerts.DefaultReceiverName))
	}
	if c.Console.HasValue() {
		cc := c.Console.Get()
		if cc.ServerConfig.NetAddr.Endpoint == "" {
			errs = append(errs, errors.New("console::endpoint: must be set (host:port)"))
		}
		if cc.TraceURL != "" && !strings.Contains(cc.TraceURL, "{trace_id}") {
			errs = append(errs, fmt.Errorf("console::trace_url %q: must contain {trace_id}", cc.TraceURL))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Receivers)) {
		if len(c.Receivers[name]) == 0 {
			errs = append(errs, fmt.Errorf("receivers::%s: lists no pipeline", name))
		}
		seen := map[pipeline.ID]bool{}
		for _, id := range c.Receivers[name] {
			if seen[id] {
				errs = append(errs, fmt.Errorf("receivers::%s: lists pipeline %s twice", name, id))
			}
			seen[id] = true
		}
		if c.Routing == "" && name != alerts.DefaultReceiverName {
			errs = append(errs, fmt.Errorf("receivers::%s: without a routing file the only receiver is %q", name, alerts.DefaultReceiverName))
		}
	}
	if len(errs) == 0 {
		// The files are checked against a configuration that is valid
		// otherwise: against no receivers at all, every receiver of the
		// routing would be reported too.
		if err := c.checkFiles(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkRouting refuses routing whose receivers are not all mapped: their
// notifications would have nowhere to go. A receiver of a routing file is
// reported where the file defines it, file:line:col.
func (c *Config) checkRouting(cfg *alerts.Config) error {
	var placed alerts.Errors
	var errs []error
	for _, r := range c.unmapped(cfg) {
		msg := fmt.Sprintf("receiver %q of the routing file has no pipelines in the alertrouter connector's receivers", r.Name)
		if r.Pos == (alerts.Position{}) {
			errs = append(errs, errors.New(msg)) // the built-in routing's
			continue
		}
		placed = append(placed, alerts.Error{Pos: r.Pos, Msg: msg})
	}
	if len(placed) > 0 {
		errs = append(errs, placed)
	}
	return errors.Join(errs...)
}

// unmapped returns the receivers of cfg that Receivers maps to no
// pipeline.
func (c *Config) unmapped(cfg *alerts.Config) []alerts.Receiver {
	var out []alerts.Receiver
	for _, r := range cfg.Receivers {
		if len(c.Receivers[r.Name]) == 0 {
			out = append(out, r)
		}
	}
	return out
}

// integrations declares each receiver's pipelines to the engine as its
// integrations, named by pipeline ID (alerts.Engine.SetIntegrations).
func (c *Config) integrations() map[string][]string {
	out := make(map[string][]string, len(c.Receivers))
	for name, pipelines := range c.Receivers {
		for _, id := range pipelines {
			out[name] = append(out[name], id.String())
		}
	}
	return out
}
