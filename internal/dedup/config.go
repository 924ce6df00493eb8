package dedup

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config (see the package documentation for why).
const (
	DefaultWindow      = 5 * time.Minute
	DefaultMaxRequests = 65_536
)

// Config is the `dedup` section of a component that remembers the
// requests it accepted.
type Config struct {
	// Window is how long a request is remembered after it was last seen
	// (at least this long, at most twice). A sender's retry within it is
	// accepted without being counted or stored again. 0 turns remembering
	// off: every try counts.
	Window time.Duration `mapstructure:"window"`
	// MaxRequests bounds how many requests are remembered, and so memory
	// (about 55 bytes each): at rates where more arrive within Window, a
	// request is remembered for at least MaxRequests/2 newer ones.
	MaxRequests int `mapstructure:"max_requests"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// NewDefaultConfig returns the default Config: on, a 5-minute window,
// 65,536 requests.
func NewDefaultConfig() Config {
	return Config{Window: DefaultWindow, MaxRequests: DefaultMaxRequests}
}

// Validate reports every invalid field at once. The collector calls it
// for the section of every component that embeds it, and prefixes its
// errors with the section's path ("dedup: ...").
func (c *Config) Validate() error {
	var errs []error
	if c.Window < 0 {
		errs = append(errs, fmt.Errorf("window must not be negative, got %v", c.Window))
	}
	if c.Window > 0 && c.MaxRequests < 2 {
		errs = append(errs, fmt.Errorf("max_requests must be at least 2 while window is set, got %d", c.MaxRequests))
	}
	return errors.Join(errs...)
}
