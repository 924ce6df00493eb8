// Package scan measures how deep the values of an OTLP export request nest,
// on its raw bytes (protobuf or JSON), before any decoder allocates: the
// otlp_guard extension's checks, kept free of the collector's API so they
// can be fuzzed on their own.
package scan

// Reason says why a request was refused; it is the value of the reason
// attribute of the refusal counter.
type Reason string

const (
	// ReasonTooDeep: a value nests deeper than max_depth.
	ReasonTooDeep Reason = "too_deep"
	// ReasonMalformed: the body is not well-formed enough to measure, so
	// no decoder may be trusted with it either.
	ReasonMalformed Reason = "malformed"
)

// Refusal is the error for a refused request: the client's answer (HTTP
// 400, gRPC InvalidArgument) carries its message.
type Refusal struct {
	Reason Reason
	// Detail says what was found and at which byte of the (decompressed)
	// request.
	Detail string
}

func (r *Refusal) Error() string { return "otlp_guard refused the request: " + r.Detail }

// Scanner checks request bodies against a nesting limit. It holds the
// scratch space a scan needs, sized for the limit, so it allocates nothing
// per request; one goroutine uses it at a time (pool them).
type Scanner struct {
	maxDepth int
	frames   []frame
	bits     []uint64
}

// NewScanner returns a Scanner for maxDepth: how many arrays and key-value
// lists a value may nest inside one another (0 allows scalars only).
func NewScanner(maxDepth int) *Scanner {
	return &Scanner{
		maxDepth: maxDepth,
		frames:   make([]frame, 0, protoFrames(maxDepth)),
		bits:     make([]uint64, jsonWords(maxDepth)),
	}
}

// Proto checks a protobuf export request of type root. It returns nil
// when every value nests at most maxDepth deep.
func (s *Scanner) Proto(body []byte, root Message) *Refusal {
	return scanProto(body, root, s.maxDepth, s.frames)
}

// JSON checks an OTLP/JSON request of any signal.
func (s *Scanner) JSON(body []byte) *Refusal {
	return scanJSON(body, s.maxDepth, s.bits)
}
