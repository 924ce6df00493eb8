package anomalyconnector

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestMatchAttributesRegexp(t *testing.T) {
	at := t0.Add(time.Minute)
	key := func(attrs ...attr) string {
		return identity{metric: "queue.depth", service: "shop", attrs: attrs}.key()
	}
	// Three queues; the resource has deployment.environment=prod.
	queues := func(ms pmetric.MetricSlice) {
		gaugeMetric(ms, "queue.depth", at, 5, map[string]any{"queue": "orders"})
		gaugeMetric(ms, "queue.depth", at, 6, map[string]any{"queue": "orders-retry"})
		gaugeMetric(ms, "queue.depth", at, 7, map[string]any{"queue": "emails"})
	}
	orders := key(attr{"queue", "orders"})
	retry := key(attr{"queue", "orders-retry"})
	emails := key(attr{"queue", "emails"})
	tests := []struct {
		name   string
		exact  map[string]string
		regexp map[string]string
		build  func(pmetric.MetricSlice)
		want   map[string]point
	}{
		{
			name:   "matching values are kept, others not",
			regexp: map[string]string{"queue": "orders.*"},
			build:  queues,
			want:   map[string]point{orders: {value: 5, total: -1}, retry: {value: 6, total: -1}},
		},
		{
			name:   "anchored: a partial match does not match",
			regexp: map[string]string{"queue": "orders"},
			build:  queues,
			want:   map[string]point{orders: {value: 5, total: -1}},
		},
		{
			name:   "anchored around the whole alternation",
			regexp: map[string]string{"queue": "emails|order"}, // "order" must not match "orders"
			build:  queues,
			want:   map[string]point{emails: {value: 7, total: -1}},
		},
		{
			name:   "a substring in the middle does not match",
			regexp: map[string]string{"queue": "rders"},
			build:  queues,
			want:   map[string]point{},
		},
		{
			name:   "resource attribute as fallback: matching",
			regexp: map[string]string{"deployment.environment": "prod|staging"},
			build:  queues,
			want:   map[string]point{orders: {value: 5, total: -1}, retry: {value: 6, total: -1}, emails: {value: 7, total: -1}},
		},
		{
			name:   "resource attribute as fallback: not matching",
			regexp: map[string]string{"deployment.environment": "stag.*"},
			build:  queues,
			want:   map[string]point{},
		},
		{
			name:   "the datapoint attribute wins over the resource's",
			regexp: map[string]string{"deployment.environment": "prod"},
			build: func(ms pmetric.MetricSlice) {
				gaugeMetric(ms, "queue.depth", at, 5, map[string]any{"queue": "orders", "deployment.environment": "dev"})
			},
			want: map[string]point{},
		},
		{
			name:   "an attribute neither has does not match, even .*",
			regexp: map[string]string{"tenant": ".*"},
			build:  queues,
			want:   map[string]point{},
		},
		{
			name:   "non-string values match by their string form",
			regexp: map[string]string{"partition": "[0-3]"},
			build: func(ms pmetric.MetricSlice) {
				gaugeMetric(ms, "queue.depth", at, 1, map[string]any{"partition": int64(2)})
				gaugeMetric(ms, "queue.depth", at, 2, map[string]any{"partition": int64(12)})
			},
			want: map[string]point{key(attr{"partition", "2"}): {value: 1, total: -1}},
		},
		{
			name:   "exact and regexp matchers must all hold",
			exact:  map[string]string{"deployment.environment": "prod"},
			regexp: map[string]string{"queue": "(orders|emails)"},
			build:  queues,
			want:   map[string]point{orders: {value: 5, total: -1}, emails: {value: 7, total: -1}},
		},
		{
			name:   "exact and regexp matchers: one failing excludes",
			exact:  map[string]string{"deployment.environment": "staging"},
			regexp: map[string]string{"queue": ".*"},
			build:  queues,
			want:   map[string]point{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Metrics = []MetricConfig{{Name: "queue.depth", MatchAttributes: tt.exact, MatchAttributesRegexp: tt.regexp}}
			}, defaultSettings(), nil)
			defer h.shutdown()
			h.feed(at, customMetrics("shop", tt.build))
			checkPoints(t, h.drain(), tt.want)
		})
	}
}

func TestMatchAttributesRegexpConfig(t *testing.T) {
	load := func(t *testing.T, regexps map[string]any) *Config {
		t.Helper()
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		cm := confmap.NewFromStringMap(map[string]any{
			"metrics": []any{
				map[string]any{"name": "queue.depth", "match_attributes_regexp": regexps},
			},
		})
		if err := cm.Unmarshal(cfg); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	t.Run("valid", func(t *testing.T) {
		cfg := load(t, map[string]any{"queue": "orders|emails"})
		if got := cfg.Metrics[0].MatchAttributesRegexp["queue"]; got != "orders|emails" {
			t.Fatalf("match_attributes_regexp not loaded: %+v", cfg.Metrics[0])
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		c, err := newCore(defaultSettings(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if re := c.selected["queue.depth"].regexps["queue"]; re == nil || !re.MatchString("emails") || re.MatchString("emails2") {
			t.Errorf("compiled matcher = %v, want one anchored at both ends", re)
		}
	})
	t.Run("invalid expressions are refused, naming metric and key", func(t *testing.T) {
		cfg := load(t, map[string]any{"queue": "orders(", "tenant": "[a-", "region": "eu-.*"})
		err := cfg.Validate()
		if err == nil {
			t.Fatal("Validate accepted an invalid regular expression")
		}
		for _, want := range []string{
			`metrics[0] ("queue.depth"): match_attributes_regexp["queue"]: error parsing regexp: missing closing )`,
			`metrics[0] ("queue.depth"): match_attributes_regexp["tenant"]: error parsing regexp: missing closing ]`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if strings.Contains(err.Error(), "region") {
			t.Errorf("valid expression reported: %v", err)
		}
		if _, err := newCore(defaultSettings(), cfg); err == nil {
			t.Error("newCore accepted an invalid regular expression")
		}
	})
	t.Run("an expression cannot escape its anchors", func(t *testing.T) {
		// Without the group, "a)|(b" would compile as ^(?:a)|(b)$.
		cfg := load(t, map[string]any{"queue": "a)|(b"})
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `match_attributes_regexp["queue"]`) {
			t.Errorf("Validate = %v, want the unbalanced expression refused", err)
		}
	})
}
