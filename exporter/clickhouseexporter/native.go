package clickhouseexporter // import "github.com/vigil-otel/vigil/exporter/clickhouseexporter"

import (
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// Column types the shaper rewrites; the names are ClickHouse's, as the
// server's insert header (and DESCRIBE) spell them.
const (
	typeLowCardinalityString column.Type = "LowCardinality(String)"
	typeAttributesMap        column.Type = "Map(LowCardinality(String), String)"
)

// nativeShaper hands column values to clickhouse-go in the forms its column
// encoders append without reflection or an allocation per value.
//
// Why by hand: clickhouse-go appends Map columns by reflection (a Go map
// through MapRange, with an interface allocation for every key and
// value), and a []string to a LowCardinality(String) column by reflecting
// each element into an interface (one allocation per row); at the span
// rates Vigil takes in, that cost three times the pdata mapping itself.
// The driver has reflection-free paths for other shapes, which this uses:
// a Map column takes any row implementing column.IterableOrderedMap; a
// LowCardinality column takes a []any whose elements it reads without
// conversion; the String column under a Map takes a *string; an Array
// column takes one typed row at a time. Keys and
// LowCardinality values are boxed into interfaces once per distinct string
// per insert (the LowCardinality dictionary keys on them, so identical
// strings must be identical interface values anyway).
//
// Every other column type gets its values unchanged. A shaper serves one
// insert at a time; it is not safe for concurrent use.
type nativeShaper struct {
	boxes map[string]any
}

func newNativeShaper() *nativeShaper { return &nativeShaper{boxes: map[string]any{}} }

// columnAppender is where one column's values go: a clickhouse-go batch
// column (driver.BatchColumn) or, in tests and benchmarks, a block column.
type columnAppender interface {
	Append(values any) error
	AppendRow(value any) error
}

// append appends values to dst, a column of ClickHouse type typ.
func (s *nativeShaper) append(dst columnAppender, typ column.Type, values any) error {
	switch v := values.(type) {
	case []string:
		if typ == typeLowCardinalityString {
			return dst.Append(s.boxAll(v))
		}
	case []Attributes:
		if typ == typeAttributesMap {
			return dst.Append(s.attributeRows(v))
		}
	// Arrays go row by row: the driver's Append reflects over every row,
	// its AppendRow takes a typed slice without reflection. Most spans
	// have no events or links, so an empty row is boxed once.
	case [][]string:
		return appendRows(dst, v)
	case [][]time.Time:
		return appendRows(dst, v)
	case [][]Attributes:
		for _, row := range v {
			var err error
			if len(row) == 0 {
				err = dst.AppendRow(emptyAttributeRows)
			} else {
				err = dst.AppendRow(s.attributeRows(row))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return dst.Append(values)
}

var emptyAttributeRows any = []*attributeRow{}

func appendRows[T any](dst columnAppender, rows [][]T) error {
	var empty any = []T{}
	for _, row := range rows {
		var err error
		if len(row) == 0 {
			err = dst.AppendRow(empty)
		} else {
			err = dst.AppendRow(row)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *nativeShaper) box(str string) any {
	if b, ok := s.boxes[str]; ok {
		return b
	}
	var b any = str
	s.boxes[str] = b
	return b
}

func (s *nativeShaper) boxAll(strs []string) []any {
	out := make([]any, len(strs))
	for i, str := range strs {
		out[i] = s.box(str)
	}
	return out
}

// attributeRows lays a column's values out as rows the driver iterates,
// from one slab for the whole column.
func (s *nativeShaper) attributeRows(values []Attributes) []*attributeRow {
	rows := make([]attributeRow, len(values))
	out := make([]*attributeRow, len(values))
	for i, v := range values {
		rows[i] = attributeRow{shaper: s, pairs: v}
		out[i] = &rows[i]
	}
	return out
}

// attributeRow is one Map(LowCardinality(String), String) value as
// clickhouse-go's Map column iterates it (column.IterableOrderedMap). It is
// its own iterator, so iterating allocates nothing; the driver iterates
// each row once, from one goroutine.
type attributeRow struct {
	shaper *nativeShaper
	pairs  Attributes
	next   int
}

var (
	_ column.IterableOrderedMap = (*attributeRow)(nil)
	_ column.MapIterator        = (*attributeRow)(nil)
)

// Put is part of column.IterableOrderedMap, used when scanning query
// results into a row; inserts never call it.
func (r *attributeRow) Put(key, value any) {
	k, _ := key.(string)
	v, _ := value.(string)
	r.pairs.Keys = append(r.pairs.Keys, k)
	r.pairs.Values = append(r.pairs.Values, v)
}

// Iterator starts an iteration over the row's pairs.
func (r *attributeRow) Iterator() column.MapIterator {
	r.next = 0
	return r
}

// Next moves to the next pair.
func (r *attributeRow) Next() bool {
	if r.next >= len(r.pairs.Keys) {
		return false
	}
	r.next++
	return true
}

// Key is the current pair's key, boxed once per insert (see nativeShaper).
func (r *attributeRow) Key() any { return r.shaper.box(r.pairs.Keys[r.next-1]) }

// Value is the current pair's value, as a *string, which the String column
// appends without boxing.
func (r *attributeRow) Value() any { return &r.pairs.Values[r.next-1] }
