// Package redislog routes go-redis's own log lines ("redis: connection
// pool: failed to dial after 5 attempts: ...") to a component's zap
// logger, at warn level.
//
// go-redis (v9.23) prints them through one process-wide logger
// (redis.SetLogger) that writes to stderr by default, past the collector's
// zap logger: the lines had neither its format, nor its level, nor a
// component's name. The library has no per-client logger, and it prints
// its connection pool's lines (failed dials among them) from goroutines of
// its own, with a context of its own, so a line cannot be traced to the
// client that printed it. This package installs one adapter, once per
// process, that hands each line to the logger of the latest component to
// call Use and not yet release it; once every one is released, the last
// released keeps taking them, so a line printed during a shutdown is not
// back on stderr.
package redislog // import "github.com/vigil-otel/vigil/internal/redislog"

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

var (
	installOnce sync.Once
	mu          sync.Mutex
	// using are the loggers of the components using go-redis, in the
	// order they called Use; last is the one that took the lines when
	// using last became empty.
	using []*zap.Logger
	last  *zap.Logger
)

// Use makes go-redis's log lines warn lines of logger while its component
// is the latest to call Use and not release it. A component calls it when
// it creates its go-redis client and release once the client is closed.
// Several components may call it, at once or in turn.
func Use(logger *zap.Logger) (release func()) {
	installOnce.Do(func() { redis.SetLogger(adapter{}) })
	mu.Lock()
	using = append(using, logger)
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			for i, l := range using {
				if l == logger {
					using = append(using[:i], using[i+1:]...)
					break
				}
			}
			if len(using) == 0 {
				last = logger
			}
		})
	}
}

// current is the logger that takes go-redis's next line.
func current() *zap.Logger {
	mu.Lock()
	defer mu.Unlock()
	if n := len(using); n > 0 {
		return using[n-1]
	}
	return last
}

// adapter is go-redis's process-wide logger.
type adapter struct{}

// Printf logs one go-redis line at warn level: go-redis prints what went
// wrong (failed dials, refused handshakes, broken connections).
func (adapter) Printf(_ context.Context, format string, v ...any) {
	if l := current(); l != nil {
		l.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}
