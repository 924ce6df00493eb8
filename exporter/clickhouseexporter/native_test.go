package clickhouseexporter

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// blockColumn adapts a block column to columnAppender, as clickhouse-go's
// batch column does for a batch insert.
type blockColumn struct{ column.Interface }

func (c blockColumn) Append(v any) error {
	_, err := c.Interface.Append(v)
	return err
}

// nativeBlock builds the Native block a batch insert of cols sends, with
// clickhouse-go's own column encoders: PrepareBatch builds the same columns
// from the server's header, and Insert appends through the same shaper
// (shaped = true) or, to compare, hands the driver plain Go values
// (Attributes as Go maps), which it appends by reflection.
// typeOf gives a column's ClickHouse type as DESCRIBE reports it.
func nativeBlock(typeOf func(name string) (string, bool), cols []Column, shaped bool) (*proto.Block, error) {
	b := proto.NewBlock()
	b.ServerContext.Timezone = time.UTC
	for _, c := range cols {
		typ, ok := typeOf(c.Name)
		if !ok {
			return nil, fmt.Errorf("column %s is not in the table", c.Name)
		}
		if err := b.AddColumn(c.Name, column.Type(typ)); err != nil {
			return nil, fmt.Errorf("column %s %s: %w", c.Name, typ, err)
		}
	}
	shaper := newNativeShaper()
	for i, c := range cols {
		var err error
		if shaped {
			err = shaper.append(blockColumn{b.Columns[i]}, b.Columns[i].Type(), c.Values)
		} else {
			_, err = b.Columns[i].Append(plainValues(c.Values))
		}
		if err != nil {
			return nil, fmt.Errorf("native append of %s (%T) to %s: %w", c.Name, c.Values, b.Columns[i].Type(), err)
		}
	}
	return b, nil
}

// plainValues turns Attributes into the Go maps clickhouse-go's Map column
// takes by reflection.
func plainValues(values any) any {
	switch v := values.(type) {
	case []Attributes:
		out := make([]map[string]string, len(v))
		for i, a := range v {
			out[i] = a.Map()
		}
		return out
	case [][]Attributes:
		out := make([][]map[string]string, len(v))
		for i, row := range v {
			out[i] = plainValues(row).([]map[string]string)
		}
		return out
	}
	return values
}

func typesOf(types map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) { t, ok := types[name]; return t, ok }
}

// TestNativeShaperSameRows: every table's fixture rows, appended through
// the shaper and handed to the driver as plain typed slices, encode to
// blocks that decode to the same rows (the byte streams differ only in
// dictionary and map order).
func TestNativeShaperSameRows(t *testing.T) {
	cfg := chdbTestConfig("otel")
	types := describeTables(t, cfg, fixtureTables(cfg))
	// Spans with events and links, and some without, in one block.
	many := genTraces(3)
	more := fixtureTraces()
	more.ResourceSpans().MoveAndAppendTo(many.ResourceSpans())
	tables := append(fixtureTables(cfg), testTable{cfg.TracesTableName, TracesToColumns(many).Columns()})
	for _, tb := range tables {
		t.Run(tb.name, func(t *testing.T) {
			var rows [2][][]any
			for i, shaped := range []bool{false, true} {
				b, err := nativeBlock(typesOf(types[tb.name]), tb.cols, shaped)
				if err != nil {
					t.Fatal(err)
				}
				var buf chproto.Buffer
				if err := b.Encode(&buf, 0); err != nil {
					t.Fatal(err)
				}
				rows[i] = decodeRows(t, buf.Buf, b)
			}
			if len(rows[1]) == 0 {
				t.Fatal("no rows decoded")
			}
			if !reflect.DeepEqual(rows[0], rows[1]) {
				t.Errorf("shaped rows differ from the driver's own:\nplain:  %v\nshaped: %v", rows[0], rows[1])
			}
		})
	}
}

// decodeRows decodes an encoded block with the driver's decoder, using
// the column layout of like, into rows of Go values.
func decodeRows(t *testing.T, data []byte, like *proto.Block) [][]any {
	t.Helper()
	b := proto.NewBlock()
	b.ServerContext.Timezone = time.UTC
	for _, c := range like.Columns {
		if err := b.AddColumn(c.Name(), c.Type()); err != nil {
			t.Fatal(err)
		}
	}
	// Encode writes the block's header (columns, rows) before the data,
	// which Decode reads back.
	if err := b.Decode(chproto.NewReader(bytes.NewReader(data)), 0); err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, b.Rows())
	for r := range rows {
		for _, c := range b.Columns {
			rows[r] = append(rows[r], c.Row(r, false))
		}
	}
	return rows
}
