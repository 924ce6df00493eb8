package deepotlp

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// TestBuildsWhatPdataReads decodes small requests of every place and
// nesting with pdata, in both encodings, and checks the value found where
// the place says, nested as deep as asked.
func TestBuildsWhatPdataReads(t *testing.T) {
	for _, p := range Places {
		for _, n := range []Nesting{KVList, Array} {
			for _, depth := range []int{0, 1, 3} {
				want := expected(n, depth)
				for _, enc := range []string{"proto", "json"} {
					t.Run(fmt.Sprintf("%s/%s/%d/%s", p, n, depth, enc), func(t *testing.T) {
						got, err := decode(p, enc, n, depth)
						if err != nil {
							t.Fatal(err)
						}
						if fmt.Sprint(got) != fmt.Sprint(want) {
							t.Fatalf("value %v, want %v", got, want)
						}
					})
				}
			}
		}
	}
}

func expected(n Nesting, depth int) any {
	var v any = "x"
	for range depth {
		if n == Array {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	return v
}

// decode returns the raw form of the value at place p.
func decode(p Place, enc string, n Nesting, depth int) (any, error) {
	var data []byte
	if enc == "proto" {
		data = Proto(p, n, depth)
	} else {
		data = JSON(p, n, depth)
	}
	un := func(u interface {
		UnmarshalProto([]byte) error
		UnmarshalJSON([]byte) error
	},
	) error {
		if enc == "proto" {
			return u.UnmarshalProto(data)
		}
		return u.UnmarshalJSON(data)
	}
	attr := func(m pcommon.Map) (any, error) {
		v, ok := m.Get("k")
		if !ok {
			return nil, fmt.Errorf("no attribute k in %v", m.AsRaw())
		}
		return v.AsRaw(), nil
	}
	switch p {
	case LogBody, LogAttribute:
		r := plogotlp.NewExportRequest()
		if err := un(&r); err != nil {
			return nil, err
		}
		lr := r.Logs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		if p == LogBody {
			return lr.Body().AsRaw(), nil
		}
		return attr(lr.Attributes())
	case SpanAttribute:
		r := ptraceotlp.NewExportRequest()
		if err := un(&r); err != nil {
			return nil, err
		}
		return attr(r.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes())
	case GaugeAttribute:
		r := pmetricotlp.NewExportRequest()
		if err := un(&r); err != nil {
			return nil, err
		}
		m := r.Metrics().ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
		return attr(m.Gauge().DataPoints().At(0).Attributes())
	case ProfilesDictionaryAttribute:
		r := pprofileotlp.NewExportRequest()
		if err := un(&r); err != nil {
			return nil, err
		}
		table := r.Profiles().Dictionary().AttributeTable()
		if table.Len() != 1 {
			return nil, fmt.Errorf("attribute table has %d entries", table.Len())
		}
		return table.At(0).Value().AsRaw(), nil
	}
	return nil, fmt.Errorf("unknown place %v", p)
}

// TestMillionLevelsAreCheap builds the crash reproduction's request: a
// linear-time builder makes it in one pass.
func TestMillionLevelsAreCheap(t *testing.T) {
	b := Proto(LogBody, KVList, 1_000_000)
	if len(b) < 17_000_000 || len(b) > 20_000_000 {
		t.Fatalf("1,000,000-deep kvlist body is %d bytes, want about 17.5 MB", len(b))
	}
}
