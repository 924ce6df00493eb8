package anomalyconnector

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// cores maps a configuration to the core its instances share. The collector
// builds one connector instance per (input, output) signal pair but passes
// both the same *Config, which is how the contrib sharedcomponent package
// recognises them too.
var cores = struct {
	sync.Mutex
	m map[*Config]*core
}{m: map[*Config]*core{}}

// instance is what the collector sees: one per output signal. The first
// instance created for a core is its leader and alone feeds the core,
// because the collector hands every input batch to both instances.
type instance struct {
	core   *core
	leader bool
}

var _ connector.Metrics = (*instance)(nil)

// attach returns a new instance for cfg, creating the shared core on first
// use; wire sets the output consumer this instance brings.
func attach(set connector.Settings, cfg *Config, wire func(*core)) (*instance, error) {
	cores.Lock()
	defer cores.Unlock()
	c, ok := cores.m[cfg]
	if !ok {
		var err error
		if c, err = newCore(set, cfg); err != nil {
			return nil, err
		}
		cores.m[cfg] = c
	}
	wire(c)
	c.instances++
	return &instance{core: c, leader: !ok}, nil
}

// Start starts the core once every instance of it has been started, so
// that no output is sent before both output pipelines are running.
func (i *instance) Start(ctx context.Context, host component.Host) error {
	cores.Lock()
	c := i.core
	c.started++
	ready := c.started == c.instances
	cores.Unlock()
	if !ready {
		return nil
	}
	return c.start(ctx, host)
}

// Shutdown stops the core at the first instance's shutdown: the collector
// shuts a connector down before the pipelines it feeds, so the core must
// stop sending before either of them goes.
func (i *instance) Shutdown(ctx context.Context) error {
	cores.Lock()
	c := i.core
	first := !c.stopping
	c.stopping = true
	c.instances--
	if c.instances == 0 {
		delete(cores.m, c.cfg)
	}
	cores.Unlock()
	if !first {
		return nil
	}
	return c.shutdown(ctx)
}

// Capabilities reports that the connector only reads its input.
func (i *instance) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// ConsumeMetrics feeds the core from the leader only.
func (i *instance) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	if !i.leader {
		return nil
	}
	i.core.consume(md)
	return nil
}
