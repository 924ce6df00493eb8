package sloconnector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestBadTraces(t *testing.T) {
	id := func(b byte) pcommon.TraceID { return pcommon.TraceID{15: b} }
	var bt badTraces
	assert.Empty(t, bt.ids(nil))
	bt.add([]string{"/pay"}, id(1))
	bt.add([]string{"/cart"}, id(2))
	bt.add([]string{"/pay"}, id(3))
	bt.add([]string{"/pay"}, id(3)) // a second bad span of the same trace
	bt.add([]string{"/pay"}, pcommon.TraceID{})
	assert.Equal(t, id(3).String()+","+id(1).String(), bt.ids([]string{"/pay"}), "newest first, one per trace, own series only")
	assert.Equal(t, id(2).String(), bt.ids([]string{"/cart"}))

	for i := range 12 {
		bt.add(nil, id(byte(100+i)))
	}
	assert.Equal(t, id(111).String()+","+id(110).String()+","+id(109).String()+","+id(108).String()+","+id(107).String(), bt.ids(nil), "at most five")
}
