package zaplogreceiver

import (
	"bytes"

	"go.opentelemetry.io/collector/pdata/plog"
)

// zapLevel is one of zap's levels with its OpenTelemetry severity. The
// numbers follow the otelzap bridge (go.opentelemetry.io/contrib/bridges/otelzap),
// so a record reads the same whether it came through a file or over OTLP:
// DPanic, Panic and Fatal are FATAL, FATAL2 and FATAL3.
type zapLevel struct {
	text     string
	severity plog.SeverityNumber
}

var zapLevels = [...]zapLevel{
	{"debug", plog.SeverityNumberDebug},
	{"info", plog.SeverityNumberInfo},
	{"warn", plog.SeverityNumberWarn},
	{"error", plog.SeverityNumberError},
	{"dpanic", plog.SeverityNumberFatal},
	{"panic", plog.SeverityNumberFatal2},
	{"fatal", plog.SeverityNumberFatal3},
}

// lookupLevel matches a level as any of zap's level encoders writes it:
// lowercase, capital, and either with ANSI colour codes. It returns the
// canonical lowercase text (zapcore.Level.String, as otelzap sets it).
func lookupLevel(b []byte) (zapLevel, bool) {
	if bytes.IndexByte(b, 0x1b) >= 0 {
		b = stripANSI(b)
	}
	for _, l := range zapLevels {
		if len(b) == len(l.text) && bytes.EqualFold(b, []byte(l.text)) {
			return l, true
		}
	}
	return zapLevel{}, false
}

// stripANSI removes CSI escape sequences such as "\x1b[34m" that zap's
// colour level encoders wrap around the level.
func stripANSI(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '[' {
			j := i + 2
			for j < len(b) && (b[j] < 0x40 || b[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		out = append(out, b[i])
	}
	return out
}
