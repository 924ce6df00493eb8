package scan

import (
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil/deepotlp"
)

// fuzzMaxDepth is the limit the fuzz targets check against: small, so the
// fuzzer reaches it with short inputs.
const fuzzMaxDepth = 3

// roots are the export requests, indexed by the fuzz targets' selector.
var roots = [...]Message{msgExportTraces, msgExportMetrics, msgExportLogs, msgExportProfiles}

type seed struct {
	body []byte
	root Message
}

// protoSeeds are the crash reproductions (every place, both nestings)
// around the fuzz limit, plus the hand-made wire format cases.
func protoSeeds() []seed {
	var out []seed
	for _, p := range deepotlp.Places {
		for _, n := range []deepotlp.Nesting{deepotlp.KVList, deepotlp.Array} {
			for _, depth := range []int{0, fuzzMaxDepth, fuzzMaxDepth + 1, 40} {
				out = append(out, seed{deepotlp.Proto(p, n, depth), rootFor(p)})
			}
		}
	}
	return out
}

func jsonSeeds() []seed {
	var out []seed
	for _, p := range deepotlp.Places {
		for _, n := range []deepotlp.Nesting{deepotlp.KVList, deepotlp.Array} {
			for _, depth := range []int{0, fuzzMaxDepth, fuzzMaxDepth + 1, 40} {
				out = append(out, seed{deepotlp.JSON(p, n, depth), rootFor(p)})
			}
		}
	}
	for _, s := range []string{
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"arr\u0061yValue":{"values":[{"kvlist_value":null}]}}}]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"{\"arrayValue\":{\"values\":[{\"arrayValue\":{}}]}}"}}]}]}]}`,
	} {
		out = append(out, seed{[]byte(s), msgExportLogs})
	}
	return out
}

// FuzzScanProto checks the protobuf scan against pdata's decoder, the
// code it protects. Properties: the scan never panics; a request it
// passes decodes (if pdata takes it at all) to values no deeper than the
// limit; and on pdata's canonical re-encoding of any request pdata takes,
// the scan refuses exactly when the values are deeper than the limit.
// The corpus is kept in testdata/fuzz/FuzzScanProto.
func FuzzScanProto(f *testing.F) {
	for _, s := range protoSeeds() {
		f.Add(s.body, uint8(s.root-msgExportTraces))
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		checkProtoAgainstPdata(t, body, roots[int(which)%len(roots)])
	})
}

// FuzzScanJSON is FuzzScanProto for OTLP/JSON. The corpus is kept in
// testdata/fuzz/FuzzScanJSON.
func FuzzScanJSON(f *testing.F) {
	for _, s := range jsonSeeds() {
		f.Add(s.body, uint8(s.root-msgExportTraces))
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		checkJSONAgainstPdata(t, body, roots[int(which)%len(roots)])
	})
}

func checkProtoAgainstPdata(t *testing.T, body []byte, root Message) {
	t.Helper()
	err := scan(body, root, false, fuzzMaxDepth)
	depth, ok := pdataDepth(body, root, false)
	if !ok {
		return
	}
	if err == nil && depth > fuzzMaxDepth {
		t.Fatalf("scan passed a request pdata decodes %d deep (limit %d): %x", depth, fuzzMaxDepth, body)
	}
	canonical := reencode(t, body, root, false)
	got := scan(canonical, root, false, fuzzMaxDepth)
	if (depth > fuzzMaxDepth) != (reasonOf(got) == ReasonTooDeep) || (got != nil && reasonOf(got) != ReasonTooDeep) {
		t.Fatalf("canonical request nested %d deep (limit %d): scan says %v: %x", depth, fuzzMaxDepth, got, canonical)
	}
}

func checkJSONAgainstPdata(t *testing.T, body []byte, root Message) {
	t.Helper()
	err := scan(body, msgNone, true, fuzzMaxDepth)
	depth, ok := pdataDepth(body, root, true)
	if !ok {
		return
	}
	if err == nil && depth > fuzzMaxDepth {
		t.Fatalf("scan passed a request pdata decodes %d deep (limit %d): %q", depth, fuzzMaxDepth, body)
	}
	canonical := reencode(t, body, root, true)
	got := scan(canonical, msgNone, true, fuzzMaxDepth)
	if (depth > fuzzMaxDepth) != (reasonOf(got) == ReasonTooDeep) || (got != nil && reasonOf(got) != ReasonTooDeep) {
		t.Fatalf("canonical request nested %d deep (limit %d): scan says %v: %q", depth, fuzzMaxDepth, got, canonical)
	}
}
