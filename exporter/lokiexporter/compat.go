package lokiexporter // import "github.com/vigil-otel/vigil/exporter/lokiexporter"

import (
	"errors"
	"fmt"
	"sort"
	"sync/atomic"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
)

// A configuration written for contrib's loki exporter (the same type name;
// contrib removed it after v0.130.0, so that is the last one) loads here:
// its keys are confighttp's client, sending_queue and retry_on_failure,
// read as they are, and default_labels_enabled, handled below rather than
// failing as an unknown key. Contrib chose labels from hints in the data
// (the loki.resource.labels, loki.attribute.labels, loki.format and
// loki.tenant attributes); Vigil chooses them in its configuration
// (labels, line_format, tenant_id) and says so when it meets a hint (see
// hintWarner).

// contribDefaultLabels says what contrib's default labels
// (default_labels_enabled) are here.
var contribDefaultLabels = map[string]struct {
	// vigil is whether Vigil's streams carry the label's information.
	vigil bool
	// instead is what Vigil does.
	instead string
}{
	"exporter": {false, "Vigil sets no exporter label"},
	"job":      {false, "Vigil labels streams with service_name and service_namespace (contrib's job was service.namespace/service.name)"},
	"instance": {false, "Vigil sets no instance label; add service.instance.id with labels::resource_attributes (label service_instance_id)"},
	"level":    {true, "Vigil's level label is one of its default labels; labels::disable_defaults drops it with service_namespace and deployment_environment"},
}

var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal reads Vigil's keys and checks contrib's default_labels_enabled
// against Vigil's labels: settings that describe what Vigil does anyway are
// accepted, others are kept for Validate to refuse, with what to set here.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	var c struct {
		DefaultLabelsEnabled map[string]bool `mapstructure:"default_labels_enabled"`
	}
	if err := conf.Unmarshal(&c, confmap.WithIgnoreUnused()); err != nil {
		return err
	}
	conf.Delete("default_labels_enabled")
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	cfg.contribErrs = defaultLabelsErrors(c.DefaultLabelsEnabled)
	return nil
}

// defaultLabelsErrors refuses each default label contrib's configuration
// asks for that Vigil does not set, or turns off one that Vigil sets.
func defaultLabelsErrors(enabled map[string]bool) error {
	names := make([]string, 0, len(enabled))
	for n := range enabled {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		l, known := contribDefaultLabels[n]
		switch {
		case !known:
			errs = append(errs, fmt.Errorf("default_labels_enabled::%s: contrib had no such label; Vigil's labels are set with labels", n))
		case enabled[n] != l.vigil:
			errs = append(errs, fmt.Errorf("default_labels_enabled::%s: %t is contrib's setting; %s", n, enabled[n], l.instead))
		}
	}
	return errors.Join(errs...)
}

// contribHints are the attributes contrib's loki exporter read as
// settings, and the key that sets the same here.
var contribHints = []struct{ attr, instead string }{
	{"loki.resource.labels", "labels::resource_attributes"},
	{"loki.attribute.labels", "labels::attributes"},
	{"loki.format", "line_format"},
	{"loki.tenant", "tenant_id"},
}

// hintWarner warns, once per hint, that the data carries a hint of
// contrib's exporter, which Vigil does not read: a pipeline moved from
// contrib whose processors still set them would otherwise lose its labels
// without a word. It looks at resources and the first record of each
// scope, so its cost does not grow with the records.
type hintWarner struct {
	logger *zap.Logger
	warned [4]atomic.Bool // by index in contribHints
}

func (w *hintWarner) check(ld plog.Logs) {
	for _, rl := range ld.ResourceLogs().All() {
		w.checkMap(rl.Resource().Attributes())
		for _, sl := range rl.ScopeLogs().All() {
			if sl.LogRecords().Len() > 0 {
				w.checkMap(sl.LogRecords().At(0).Attributes())
			}
		}
	}
}

func (w *hintWarner) checkMap(m pcommon.Map) {
	for i, h := range contribHints {
		if w.warned[i].Load() {
			continue
		}
		if _, ok := m.Get(h.attr); ok && !w.warned[i].Swap(true) {
			w.logger.Warn("Attribute "+h.attr+" is a hint of contrib's loki exporter, which this one does not read: set "+h.instead+" in the exporter's configuration instead",
				zap.String("attribute", h.attr), zap.String("instead", h.instead))
		}
	}
}
