package sloconnector

import (
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// badTracesKept is how many trace IDs of recent bad spans an SLO keeps,
// for the alert.trace_ids of its alert events: enough for on-call to open
// a few failing requests, few enough to stay a short attribute.
const badTracesKept = 5

// badTraces remembers the trace IDs of the latest bad spans of one SLO,
// with the series (group_by values) each belongs to. Only bad spans touch
// it, so its lock stays off the path of healthy traffic.
type badTraces struct {
	mu      sync.Mutex
	next    int
	entries [badTracesKept * 4]badTrace
}

type badTrace struct {
	group string // group_by values joined by groupSep; "" without group_by
	id    pcommon.TraceID
}

const groupSep = "\xff"

// add remembers a bad span's trace. group is the span's group_by values.
func (b *badTraces) add(group []string, id pcommon.TraceID) {
	if id.IsEmpty() {
		return
	}
	key := ""
	if len(group) > 0 {
		key = strings.Join(group, groupSep)
	}
	b.mu.Lock()
	b.entries[b.next] = badTrace{group: key, id: id}
	b.next = (b.next + 1) % len(b.entries)
	b.mu.Unlock()
}

// ids returns up to badTracesKept trace IDs of the series' latest bad
// spans, newest first, comma-separated as alert.trace_ids carries them.
func (b *badTraces) ids(group []string) string {
	key := strings.Join(group, groupSep)
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	seen := map[pcommon.TraceID]bool{}
	for i := 1; i <= len(b.entries) && len(out) < badTracesKept; i++ {
		e := b.entries[(b.next-i+len(b.entries))%len(b.entries)]
		if e.id.IsEmpty() || e.group != key || seen[e.id] {
			continue
		}
		seen[e.id] = true
		out = append(out, e.id.String())
	}
	return strings.Join(out, ",")
}
