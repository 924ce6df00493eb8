package anomalyconnector

import (
	"context"

	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-otel/vigil/internal/dedup"
	"github.com/vigil-otel/vigil/internal/sharedcomponent"
)

// cores maps a configuration to the core its instances share. The collector
// builds one connector instance per (input, output) signal pair but passes
// both the same *Config.
var cores = sharedcomponent.NewMap[*Config, *core]()

// instance is what the collector sees: one per output signal. The first
// instance created for a core is its leader and alone feeds the core,
// because the collector hands every input batch to both instances.
type instance struct {
	*sharedcomponent.Instance[*Config, *core]
	core   *core
	leader bool
}

var _ connector.Metrics = (*instance)(nil)

// attach returns a new instance for cfg, creating the shared core on first
// use; wire sets the output consumer this instance brings.
func attach(set connector.Settings, cfg *Config, wire func(*core)) (*instance, error) {
	created := false
	inst, err := cores.LoadOrStore(cfg, func() (*core, error) {
		created = true
		return newCore(set, cfg)
	})
	if err != nil {
		return nil, err
	}
	c := inst.Value()
	wire(c)
	return &instance{Instance: inst, core: c, leader: created}, nil
}

// Capabilities reports that the connector only reads its input.
func (i *instance) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// ConsumeMetrics feeds the core from the leader only, once per request:
// a sender's retry of a request taken already is accepted and not taken
// again (package internal/dedup). Accept records the request before it
// is consumed: consuming cannot fail.
func (i *instance) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	if !i.leader {
		return nil
	}
	if w := i.core.seen; w.Enabled() {
		if fp, ok := dedup.Metrics(md); ok && !w.Accept(fp) {
			return nil
		}
	}
	i.core.consume(md)
	return nil
}
