package redisstorageextension // import "github.com/vigil-otel/vigil/extension/redisstorageextension"

import (
	"errors"
	"fmt"
	"net"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
)

// Config is the configuration of the redis_storage extension.
type Config struct {
	// Endpoint is the Redis server, host:port.
	Endpoint string `mapstructure:"endpoint"`
	// Password is Redis's AUTH password; empty for none.
	Password configopaque.String `mapstructure:"password"`
	// DB is the Redis database number.
	DB int `mapstructure:"db"`
	// Prefix starts every key the extension writes, so that several fleets
	// (or tests) can share one Redis. Default "vigil".
	Prefix string `mapstructure:"prefix"`
	// Timeout bounds one operation (dial, read, write). A store that does
	// not answer fails the operation after it; components then keep their
	// state in memory and write it again later. Default 1s.
	Timeout time.Duration `mapstructure:"timeout"`
	// Ownership configures the leases by which one evaluator of a fleet
	// owns each service; see the package doc.
	Ownership OwnershipConfig `mapstructure:"ownership"`
}

// OwnershipConfig configures service leases.
type OwnershipConfig struct {
	// LeaseTTL is how long a lease outlives its last renewal: the time a
	// crashed evaluator's services wait before another takes them over.
	// Default 10s.
	LeaseTTL time.Duration `mapstructure:"lease_ttl"`
	// RenewInterval is how often leases are renewed and claimed. Default
	// a third of LeaseTTL, so two renewals may fail before a lease lapses.
	RenewInterval time.Duration `mapstructure:"renew_interval"`
	// HandoverQuiet is how long the owner of a service another evaluator
	// wants must have received none of its data before it hands the
	// service over: the gateways have moved the service by then, so the
	// state written at the handover is complete. Default 2s.
	HandoverQuiet time.Duration `mapstructure:"handover_quiet"`
	// Instance names this evaluator in leases. Default: host name, process
	// ID and a random suffix, unique per run.
	Instance string `mapstructure:"instance"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without contacting Redis.
func (c *Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: required (host:port of the Redis server)"))
	} else if _, _, err := net.SplitHostPort(c.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("endpoint %q: want host:port: %w", c.Endpoint, err))
	}
	if c.DB < 0 {
		errs = append(errs, fmt.Errorf("db %d: must not be negative", c.DB))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %s: must be positive", c.Timeout))
	}
	o := c.Ownership
	if o.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("ownership::lease_ttl %s: must be at least 1s", o.LeaseTTL))
	}
	if o.RenewInterval < 0 || (o.RenewInterval > 0 && o.RenewInterval*2 > o.LeaseTTL) {
		errs = append(errs, fmt.Errorf("ownership::renew_interval %s: must be at most half of lease_ttl (%s), or 0 for a third", o.RenewInterval, o.LeaseTTL))
	}
	if o.HandoverQuiet < 0 {
		errs = append(errs, fmt.Errorf("ownership::handover_quiet %s: must not be negative", o.HandoverQuiet))
	}
	return errors.Join(errs...)
}

// renewInterval is RenewInterval or its default.
func (o OwnershipConfig) renewInterval() time.Duration {
	if o.RenewInterval > 0 {
		return o.RenewInterval
	}
	return o.LeaseTTL / 3
}
