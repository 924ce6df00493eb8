package anomalycli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

// timeLayouts are the accepted time stamp forms: NAB's, NAB's label form with
// microseconds, and RFC 3339. Zone-less stamps are taken as UTC.
var timeLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
}

// ParseTimestamp parses a time stamp in one of the accepted layouts.
func ParseTimestamp(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time stamp %q is not like 2014-04-01 00:00:00", s)
}

// LabelMode chooses what the label column marks.
type LabelMode string

// Label modes.
const (
	// LabelOnset marks the row where Vigil raises a flag, i.e. where an
	// alert would start firing: one row per detected episode.
	LabelOnset LabelMode = "onset"
	// LabelState marks every row while the series is anomalous (from onset
	// until hysteresis clears it).
	LabelState LabelMode = "state"
)

// ParseLabelMode checks a --label value.
func ParseLabelMode(s string) (LabelMode, error) {
	switch m := LabelMode(s); m {
	case LabelOnset, LabelState:
		return m, nil
	}
	return "", fmt.Errorf("label mode %q: want %q or %q", s, LabelOnset, LabelState)
}

// Detect scores the CSV series read from r with one detector built from cfg
// and writes the scored rows to w. Each output row is written before the next
// input row is read (output is flushed whenever no more input is buffered),
// so it works on a live pipe. Errors name the offending line; every row
// scored before it has been written to w (flushed) when Detect returns.
//
// Values must be finite numbers: NaN and ±Inf, which strconv would accept,
// are refused, as are values beyond float64's range ("1e400"). Time stamps
// must not go backwards; equal ones (duplicate rows, present in the NAB
// corpus) are accepted and scored in file order.
func Detect(r io.Reader, w io.Writer, cfg anomaly.Config, mode LabelMode) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if _, err := ParseLabelMode(string(mode)); err != nil {
		return err
	}
	out := bufio.NewWriter(w)
	err := detect(bufio.NewReader(r), out, cfg, mode)
	// On error too: the rows scored before the bad one are output the
	// user has been promised (a row is written as soon as it is read).
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

// detect is Detect's loop; the caller flushes out, on error too.
func detect(in *bufio.Reader, out *bufio.Writer, cfg anomaly.Config, mode LabelMode) error {
	det := anomaly.New(cfg)
	line := 0
	header := false
	buf := make([]byte, 0, 64)
	// The previous row, for the order check.
	var prevTS time.Time
	var prevText string
	prevLine := 0
	for {
		text, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if text == "" && errors.Is(err, io.EOF) {
			break
		}
		line++
		text = strings.TrimRight(text, "\r\n")
		if strings.TrimSpace(text) == "" {
			if errors.Is(err, io.EOF) {
				break
			}
			continue
		}
		if !header {
			if !strings.EqualFold(strings.ReplaceAll(text, " ", ""), "timestamp,value") {
				return fmt.Errorf("line %d: header must be \"timestamp,value\", got %q", line, text)
			}
			header = true
			if _, werr := out.WriteString("timestamp,value,anomaly_score,label\n"); werr != nil {
				return werr
			}
		} else {
			ts, val, perr := parseRow(text)
			if perr != nil {
				return fmt.Errorf("line %d: %w", line, perr)
			}
			tsText := strings.TrimSpace(text[:strings.IndexByte(text, ',')])
			if prevLine > 0 && ts.Before(prevTS) {
				return fmt.Errorf("line %d: time stamp %q is earlier than %q on line %d: time stamps must not go backwards (equal ones are accepted)",
					line, tsText, prevText, prevLine)
			}
			prevTS, prevText, prevLine = ts, tsText, line
			res := det.Observe(ts, val)
			buf = buf[:0]
			buf = append(buf, tsText...)
			buf = append(buf, ',')
			buf = append(buf, strings.TrimSpace(text[strings.IndexByte(text, ',')+1:])...)
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, res.Score, 'f', 6, 64)
			if (mode == LabelOnset && res.Onset) || (mode == LabelState && res.Anomalous) {
				buf = append(buf, ",1\n"...)
			} else {
				buf = append(buf, ",0\n"...)
			}
			if _, werr := out.Write(buf); werr != nil {
				return werr
			}
		}
		if in.Buffered() == 0 {
			if ferr := out.Flush(); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if !header {
		return errors.New("line 1: empty input, expected header \"timestamp,value\"")
	}
	return nil
}

// parseRow splits and parses one "timestamp,value" row.
func parseRow(text string) (time.Time, float64, error) {
	fields := strings.Split(text, ",")
	if len(fields) != 2 {
		return time.Time{}, 0, fmt.Errorf("want 2 fields (timestamp,value), got %d in %q", len(fields), text)
	}
	ts, err := ParseTimestamp(strings.TrimSpace(fields[0]))
	if err != nil {
		return time.Time{}, 0, err
	}
	v, err := parseValue(strings.TrimSpace(fields[1]))
	if err != nil {
		return time.Time{}, 0, err
	}
	return ts, v, nil
}

// parseValue parses a row's value: a finite float64. It tells a value that
// is not a number from one out of float64's range ("1e400", which strconv
// turns into ±Inf) and from NaN and ±Inf, which strconv accepts but the
// detector cannot score.
func parseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("value %q is out of range (the largest magnitude is about 1.8e308)", s)
	case err != nil:
		return 0, fmt.Errorf("value %q is not a number", s)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("value %q is not a finite number", s)
	}
	return v, nil
}
