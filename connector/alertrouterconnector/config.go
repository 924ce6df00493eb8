package alertrouterconnector // import "github.com/vigil-otel/vigil/connector/alertrouterconnector"

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/vigil-otel/vigil/alerts"
)

// Config is the configuration of the alertrouter connector.
type Config struct {
	// Routing is the path of a routing file: receivers, routing tree,
	// grouping, inhibition and time intervals, in Alertmanager's format
	// (see alerts.ParseConfig). It is re-read when it changes; a file that
	// does not parse, or names a receiver Receivers does not map, keeps the
	// previous routing. Empty means alerts.DefaultConfig: every alert to the
	// one receiver named "default".
	Routing string `mapstructure:"routing"`
	// Silences is the path of a silences file (see alerts.ParseSilences),
	// re-read when it changes; a missing file means no silences.
	Silences string `mapstructure:"silences"`
	// Storage is the ID of a storage extension (file_storage) that keeps
	// the notification log and silence state across restarts. Without it a
	// restart forgets which incidents are open: triggers may repeat and
	// resolves be lost.
	Storage *component.ID `mapstructure:"storage"`
	// FlushInterval is how often the router re-reads the routing and
	// silences files and sends due notifications. Default 1s.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Receivers maps each receiver of the routing to the pipelines its
	// notifications go to, as contrib's routing connector maps routes to
	// pipelines; those pipelines' exporters (a pagerduty exporter holding
	// that receiver's routing key, say) do the sending.
	Receivers map[string][]pipeline.ID `mapstructure:"receivers"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without reading files. The receivers
// of a routing file are checked against Receivers when the file is read.
func (c *Config) Validate() error {
	var errs []error
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("flush_interval %s: must be positive", c.FlushInterval))
	}
	if len(c.Receivers) == 0 {
		errs = append(errs, fmt.Errorf("receivers: map at least one receiver to pipelines (without routing: the receiver %q)", alerts.DefaultReceiverName))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Receivers)) {
		if len(c.Receivers[name]) == 0 {
			errs = append(errs, fmt.Errorf("receivers::%s: lists no pipeline", name))
		}
		if c.Routing == "" && name != alerts.DefaultReceiverName {
			errs = append(errs, fmt.Errorf("receivers::%s: without a routing file the only receiver is %q", name, alerts.DefaultReceiverName))
		}
	}
	return errors.Join(errs...)
}

// checkRouting refuses routing whose receivers are not all mapped: their
// notifications would have nowhere to go.
func (c *Config) checkRouting(cfg *alerts.Config) error {
	var errs []error
	for _, r := range cfg.Receivers {
		if len(c.Receivers[r.Name]) == 0 {
			errs = append(errs, fmt.Errorf("receiver %q of the routing file has no pipelines in the alertrouter connector's receivers", r.Name))
		}
	}
	return errors.Join(errs...)
}
