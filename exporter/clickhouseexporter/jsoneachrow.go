package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"
)

// dateTime64Layout is the text form ClickHouse parses into DateTime64(9)
// with the default date_time_input_format; times are written in UTC.
const dateTime64Layout = "2006-01-02 15:04:05.000000000"

// EncodeJSONEachRow writes the rows of cols in ClickHouse's JSONEachRow
// format, one JSON object per line keyed by column name. It carries the same
// typed values as the native insert, so loading its output into a table
// checks the column mapping against the real schema. Non-finite floats are
// written as the strings "nan", "inf" and "-inf", which ClickHouse parses
// into Float64.
func EncodeJSONEachRow(w io.Writer, cols []Column) error {
	if len(cols) == 0 {
		return nil
	}
	n, err := columnLen(cols[0].Values)
	if err != nil {
		return fmt.Errorf("column %s: %w", cols[0].Name, err)
	}
	for _, c := range cols[1:] {
		l, err := columnLen(c.Values)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
		if l != n {
			return fmt.Errorf("column %s has %d rows, column %s has %d: %w", c.Name, l, cols[0].Name, n, errPermanentSchema)
		}
	}
	names := make([][]byte, len(cols))
	for i, c := range cols {
		names[i] = appendJSONString(nil, c.Name)
	}
	var buf []byte
	for row := 0; row < n; row++ {
		buf = append(buf[:0], '{')
		for i, c := range cols {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, names[i]...)
			buf = append(buf, ':')
			buf = appendCell(buf, c.Values, row)
		}
		buf = append(buf, '}', '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func columnLen(values any) (int, error) {
	switch v := values.(type) {
	case []time.Time:
		return len(v), nil
	case []string:
		return len(v), nil
	case []Attributes:
		return len(v), nil
	case []map[string]string:
		return len(v), nil
	case []uint8:
		return len(v), nil
	case []uint32:
		return len(v), nil
	case []uint64:
		return len(v), nil
	case []int32:
		return len(v), nil
	case []float64:
		return len(v), nil
	case []bool:
		return len(v), nil
	case [][]time.Time:
		return len(v), nil
	case [][]string:
		return len(v), nil
	case [][]Attributes:
		return len(v), nil
	case [][]map[string]string:
		return len(v), nil
	case [][]uint64:
		return len(v), nil
	case [][]float64:
		return len(v), nil
	}
	return 0, fmt.Errorf("unsupported column type %T: %w", values, errPermanentSchema)
}

// appendCell appends the JSON of one value; columnLen already vetted the
// type.
func appendCell(b []byte, values any, row int) []byte {
	switch v := values.(type) {
	case []time.Time:
		return appendTime(b, v[row])
	case []string:
		return appendJSONString(b, v[row])
	case []Attributes:
		return appendAttributes(b, v[row])
	case []map[string]string:
		return appendMap(b, v[row])
	case []uint8:
		return strconv.AppendUint(b, uint64(v[row]), 10)
	case []uint32:
		return strconv.AppendUint(b, uint64(v[row]), 10)
	case []uint64:
		return strconv.AppendUint(b, v[row], 10)
	case []int32:
		return strconv.AppendInt(b, int64(v[row]), 10)
	case []float64:
		return appendFloat(b, v[row])
	case []bool:
		return strconv.AppendBool(b, v[row])
	case [][]time.Time:
		return appendArray(b, v[row], appendTime)
	case [][]string:
		return appendArray(b, v[row], appendJSONString)
	case [][]Attributes:
		return appendArray(b, v[row], appendAttributes)
	case [][]map[string]string:
		return appendArray(b, v[row], appendMap)
	case [][]uint64:
		return appendArray(b, v[row], func(b []byte, u uint64) []byte { return strconv.AppendUint(b, u, 10) })
	case [][]float64:
		return appendArray(b, v[row], appendFloat)
	}
	panic(fmt.Sprintf("unsupported column type %T", values))
}

func appendArray[T any](b []byte, vs []T, appendOne func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOne(b, v)
	}
	return append(b, ']')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, dateTime64Layout)
	return append(b, '"')
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"nan"`...)
	case math.IsInf(f, 1):
		return append(b, `"inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-inf"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendMap writes keys sorted, so the output is deterministic.
func appendMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendAttributes writes the pairs as appendMap writes a map.
func appendAttributes(b []byte, a Attributes) []byte { return appendMap(b, a.Map()) }

func appendJSONString(b []byte, s string) []byte {
	// json.Marshal of a string cannot fail; it escapes control characters
	// and invalid UTF-8 the way ClickHouse's JSON reader expects.
	out, _ := json.Marshal(s)
	return append(b, out...)
}
