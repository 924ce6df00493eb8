package redisstorageextension // import "github.com/vigil-otel/vigil/extension/redisstorageextension"

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/vigil-otel/vigil/extension/redisstorageextension/internal/metadata"
	"github.com/vigil-otel/vigil/internal/ownership"
	"github.com/vigil-otel/vigil/internal/redislog"
)

// redisStorage is the extension: a storage.Extension whose clients keep
// their keys in Redis, and the ownership.Coordinator of the process.
type redisStorage struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry component.TelemetrySettings
	rdb       *redis.Client
	tel       *metadata.TelemetryBuilder
	// releaseLog ends this extension's hold on go-redis's log lines.
	releaseLog func()
	*coordinator
}

var (
	_ storage.Extension     = (*redisStorage)(nil)
	_ ownership.Coordinator = (*redisStorage)(nil)
)

func newStorage(set extension.Settings, cfg *Config) *redisStorage {
	return &redisStorage{cfg: cfg, logger: set.Logger, telemetry: set.TelemetrySettings}
}

// Start connects to Redis and starts the lease loop. Redis need not be up:
// the client connects on first use, and until then operations fail, each
// within the timeout, and components keep their state in memory.
func (s *redisStorage) Start(_ context.Context, _ component.Host) error {
	// go-redis's own lines (failed dials, ...) are warn lines of this
	// extension's logger, not raw lines on stderr.
	s.releaseLog = redislog.Use(s.logger)
	s.rdb = redis.NewClient(&redis.Options{
		Addr:         s.cfg.Endpoint,
		Password:     string(s.cfg.Password),
		DB:           s.cfg.DB,
		DialTimeout:  s.cfg.Timeout,
		ReadTimeout:  s.cfg.Timeout,
		WriteTimeout: s.cfg.Timeout,
		// One retry of an operation whose connection broke (Redis
		// restarted); a store that stays down fails fast.
		MaxRetries: 1,
		// go-redis otherwise sends CLIENT SETINFO on each connection and
		// logs when an older server refuses it.
		DisableIdentity: true,
	})
	s.coordinator = newCoordinator(s.rdb, s.cfg, s.logger)
	tel, err := registerTelemetry(s.telemetry, &s.stats)
	if err != nil {
		_ = s.rdb.Close()
		s.rdb = nil
		s.releaseLog()
		return err
	}
	s.tel = tel
	s.start()
	return nil
}

// Shutdown stops the lease loop, releases the leases held (the components,
// shut down before extensions, have written their state) and closes the
// connections.
func (s *redisStorage) Shutdown(ctx context.Context) error {
	if s.rdb == nil {
		return nil
	}
	s.stop(ctx)
	s.tel.Shutdown()
	err := s.rdb.Close()
	s.releaseLog()
	return err
}

// GetClient returns a client whose keys live under the component's
// namespace: the same for the same component ID on every evaluator, so an
// evaluator that takes a service over reads what the previous owner wrote.
func (s *redisStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	if s.rdb == nil {
		return nil, errors.New("redis_storage: GetClient before Start")
	}
	ns := fmt.Sprintf("%s:%s/%s", s.cfg.Prefix, strings.ToLower(kind.String()), id)
	if name != "" {
		ns += "/" + name
	}
	return &client{rdb: s.rdb, prefix: ns + ":"}, nil
}

// client is a storage.Client on Redis: each key is a Redis string.
type client struct {
	rdb    *redis.Client
	prefix string
}

var _ storage.Client = (*client)(nil)

// Get returns the value of key, or nil and no error when there is none.
func (c *client) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := c.rdb.Get(ctx, c.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis_storage: get %s: %w", key, err)
	}
	return v, nil
}

// Set stores value under key.
func (c *client) Set(ctx context.Context, key string, value []byte) error {
	if err := c.rdb.Set(ctx, c.prefix+key, value, 0).Err(); err != nil {
		return fmt.Errorf("redis_storage: set %s: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing key is no error.
func (c *client) Delete(ctx context.Context, key string) error {
	if err := c.rdb.Del(ctx, c.prefix+key).Err(); err != nil {
		return fmt.Errorf("redis_storage: delete %s: %w", key, err)
	}
	return nil
}

// Batch runs the operations in one round trip (a MULTI/EXEC transaction,
// so they apply together), filling the Value of each Get.
func (c *client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if len(ops) == 0 {
		return nil
	}
	gets := make([]*redis.StringCmd, len(ops))
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, op := range ops {
			key := c.prefix + op.Key
			switch op.Type {
			case storage.Get:
				gets[i] = p.Get(ctx, key)
			case storage.Set:
				p.Set(ctx, key, op.Value, 0)
			case storage.Delete:
				p.Del(ctx, key)
			default:
				return fmt.Errorf("redis_storage: unknown operation type %v", op.Type)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis_storage: batch: %w", err)
	}
	for i, g := range gets {
		if g == nil {
			continue
		}
		v, err := g.Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			ops[i].Value = nil
		case err != nil:
			return fmt.Errorf("redis_storage: get %s: %w", ops[i].Key, err)
		default:
			ops[i].Value = v
		}
	}
	return nil
}

// updateAttempts bounds the tries of one Update whose key other writers
// keep changing; each try is a round trip or two, and the tries are spaced
// by a random pause growing up to updateBackoff, so writers contending
// for the key take turns instead of failing each other in step.
const (
	updateAttempts = 50
	updateBackoff  = 20 * time.Millisecond
)

// Update replaces the value of key with update's result of the current
// value, atomically: the key is WATCHed while it is read, and the write
// (MULTI/EXEC) fails when another client wrote the key in between, and
// is tried again on the new value. A missing key reads as nil. This is
// the compare-and-set the alert engine's shared silences merge with
// (alerts.Updater).
func (c *client) Update(ctx context.Context, key string, update func(current []byte) ([]byte, error)) error {
	key = c.prefix + key
	for attempt := range updateAttempts {
		err := c.rdb.Watch(ctx, func(tx *redis.Tx) error {
			cur, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				cur, err = nil, nil
			}
			if err != nil {
				return err
			}
			next, err := update(cur)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, next, 0)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return fmt.Errorf("redis_storage: update %s: %w", strings.TrimPrefix(key, c.prefix), err)
			}
			return nil
		}
		pause := time.Duration(rand.Int64N(int64(min(updateBackoff, time.Duration(attempt+1)*time.Millisecond)) + 1))
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis_storage: update %s: %w", strings.TrimPrefix(key, c.prefix), ctx.Err())
		case <-time.After(pause):
		}
	}
	return fmt.Errorf("redis_storage: update %s: the key kept changing (%d attempts)", strings.TrimPrefix(key, c.prefix), updateAttempts)
}

// Close releases nothing: the connections belong to the extension.
func (c *client) Close(context.Context) error { return nil }
