package zaplogreceiver

import (
	"fmt"
	"math"
	"time"
)

// Time encodings, named as zapcore.TimeEncoder.UnmarshalText names them, plus
// "auto" and the epoch-microsecond form some wrappers use.
const (
	TimeEncodingAuto        = "auto"
	TimeEncodingEpoch       = "epoch"
	TimeEncodingMillis      = "millis"
	TimeEncodingMicros      = "micros"
	TimeEncodingNanos       = "nanos"
	TimeEncodingISO8601     = "iso8601"
	TimeEncodingRFC3339     = "rfc3339"
	TimeEncodingRFC3339Nano = "rfc3339nano"
)

// iso8601Layout is zapcore.ISO8601TimeEncoder's layout minus the fraction:
// time.Parse accepts a fraction after the seconds even when the layout has
// none, so this one layout reads both "…05Z" and "…05.123+0100".
const iso8601Layout = "2006-01-02T15:04:05Z0700"

// timeDecoder turns the text of a zap timestamp into Unix nanoseconds.
type timeDecoder struct {
	// scale is the power of ten from the configured epoch unit to
	// nanoseconds (9 for seconds), or -1 to infer it from the magnitude.
	scale int
	// layouts are tried in order for string timestamps.
	layouts []string
}

func newTimeDecoder(encoding string) (timeDecoder, error) {
	all := []string{time.RFC3339Nano, iso8601Layout}
	switch encoding {
	case "", TimeEncodingAuto:
		return timeDecoder{scale: -1, layouts: all}, nil
	case TimeEncodingEpoch:
		return timeDecoder{scale: 9, layouts: all}, nil
	case TimeEncodingMillis:
		return timeDecoder{scale: 6, layouts: all}, nil
	case TimeEncodingMicros:
		return timeDecoder{scale: 3, layouts: all}, nil
	case TimeEncodingNanos:
		return timeDecoder{scale: 0, layouts: all}, nil
	case TimeEncodingISO8601:
		return timeDecoder{scale: -1, layouts: []string{iso8601Layout, time.RFC3339Nano}}, nil
	case TimeEncodingRFC3339, TimeEncodingRFC3339Nano:
		return timeDecoder{scale: -1, layouts: []string{time.RFC3339Nano, iso8601Layout}}, nil
	}
	return timeDecoder{}, fmt.Errorf("unknown time_encoding %q", encoding)
}

// fromString parses an ISO8601 or RFC3339 timestamp.
func (d timeDecoder) fromString(b []byte) (int64, bool) {
	s := string(b)
	for _, layout := range d.layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixNano(), true
		}
	}
	return 0, false
}

// fromNumber converts an epoch timestamp written as a JSON number or by
// fmt (zap's console encoder prints float seconds as "1.7000000001234567e+09")
// into nanoseconds. It works on the decimal digits rather than a float64 so
// that every digit zap wrote survives: 1700000000.123456 s is exactly
// 1700000000123456000 ns, not the nearest float64.
func (d timeDecoder) fromNumber(raw []byte) (int64, bool) {
	if len(raw) == 0 || raw[0] == '-' {
		// Negative epochs only come from a zero time.Time; keep the field.
		return 0, false
	}
	// Split into integer digits, fraction digits and exponent.
	i := 0
	intStart := i
	for i < len(raw) && isDigit(raw[i]) {
		i++
	}
	intDigits := raw[intStart:i]
	var fracDigits []byte
	if i < len(raw) && raw[i] == '.' {
		i++
		fs := i
		for i < len(raw) && isDigit(raw[i]) {
			i++
		}
		fracDigits = raw[fs:i]
	}
	exp := 0
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		neg := false
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			neg = raw[i] == '-'
			i++
		}
		for i < len(raw) && isDigit(raw[i]) {
			if exp > 1000 {
				return 0, false
			}
			exp = exp*10 + int(raw[i]-'0')
			i++
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(raw) || len(intDigits)+len(fracDigits) == 0 {
		return 0, false
	}
	for len(intDigits) > 0 && intDigits[0] == '0' {
		intDigits = intDigits[1:]
	}
	// magnitude is the number of integer digits of the value in its unit.
	magnitude := len(intDigits) + exp
	if len(intDigits) == 0 {
		// 0.00123e5: count the leading fraction zeros instead.
		lead := 0
		for lead < len(fracDigits) && fracDigits[lead] == '0' {
			lead++
		}
		magnitude = exp - lead
	}
	scale := d.scale
	if scale < 0 {
		// Seconds until the year 5138, milliseconds after that, and so on:
		// zap's encoders put current times at 10, 13 and 19 digits.
		switch {
		case magnitude <= 11:
			scale = 9
		case magnitude <= 14:
			scale = 6
		case magnitude <= 17:
			scale = 3
		default:
			scale = 0
		}
	}
	// The decimal point sits after point digits of intDigits+fracDigits
	// once the value is shifted to nanoseconds.
	point := len(intDigits) + exp + scale
	total := len(intDigits) + len(fracDigits)
	var n uint64
	for k := 0; k < point; k++ {
		var dgt uint64
		switch {
		case k < len(intDigits):
			dgt = uint64(intDigits[k] - '0')
		case k < total:
			dgt = uint64(fracDigits[k-len(intDigits)] - '0')
		}
		if n > (math.MaxInt64-dgt)/10 {
			return 0, false
		}
		n = n*10 + dgt
	}
	return int64(n), true //nolint:gosec // bounded by MaxInt64 above
}
