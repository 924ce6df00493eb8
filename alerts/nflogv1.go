package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// storeKeyV1 is where version 1 of the notification log kept everything
// in one value: the entries of every service and the state of the
// until_resolved silences.
const storeKeyV1 = "vigil.alerts.nflog"

// nflogDocV1 is the document of version 1.
type nflogDocV1 struct {
	Version  int                       `json:"version"`
	Entries  []LogEntry                `json:"entries"`
	Silences map[string]*silenceRecord `json:"silences,omitempty"`
}

// migrateV1 rewrites a version 1 notification log in the current layout
// (a value per service, the index, the silence state apart) and then
// deletes it, so that an upgraded router still resolves the incidents
// opened before the upgrade and keeps its until_resolved silences. What
// the current layout already holds wins: a service's value or the
// silence state is written only where there is none, and the index (not
// kept in a fleet) gains the services. The old value goes last, so a crash midway leaves
// it to be migrated again at the next start, with the same result.
func (e *Engine) migrateV1(ctx context.Context) error {
	data, err := e.store.Get(ctx, storeKeyV1)
	if err != nil {
		return fmt.Errorf("reading notification log %s: %w", storeKeyV1, err)
	}
	if data == nil {
		return nil
	}
	var old nflogDocV1
	if err := json.Unmarshal(data, &old); err != nil {
		return fmt.Errorf("decoding notification log %s: %w", storeKeyV1, err)
	}
	if old.Version != 1 {
		return fmt.Errorf("notification log %s has version %d, want 1", storeKeyV1, old.Version)
	}
	byService := map[string][]LogEntry{}
	for _, entry := range old.Entries {
		s := serviceOf(entry.Alert)
		byService[s] = append(byService[s], entry)
	}
	// A fleet's engine (ShardByService) keeps no index: it loads a
	// service's value when it takes the service over.
	indexed := map[string]bool{}
	if !e.sharded {
		var index indexDoc
		if _, err := load(ctx, e.store, StoreKeyIndex, &index, func() int { return index.Version }); err != nil {
			return err
		}
		for _, s := range index.Services {
			indexed[s] = true
		}
	}
	for _, service := range slices.Sorted(maps.Keys(byService)) {
		indexed[service] = true
		key := ServiceKey(service)
		if current, err := e.store.Get(ctx, key); err != nil {
			return fmt.Errorf("reading notification log %s: %w", key, err)
		} else if current != nil {
			continue
		}
		if err := e.set(ctx, key, serviceDoc{Version: nflogVersion, Entries: byService[service]}); err != nil {
			return err
		}
	}
	if !e.sharded {
		if err := e.set(ctx, StoreKeyIndex, indexDoc{Version: nflogVersion, Services: slices.Sorted(maps.Keys(indexed))}); err != nil {
			return err
		}
	}
	if len(old.Silences) > 0 {
		if current, err := e.store.Get(ctx, StoreKeySilences); err != nil {
			return fmt.Errorf("reading silence state %s: %w", StoreKeySilences, err)
		} else if current == nil {
			// Their muted sets become alerts still firing when read
			// (silenceRecord.upgrade).
			if err := e.set(ctx, StoreKeySilences, silencesDoc{Version: nflogVersion, Silences: old.Silences}); err != nil {
				return err
			}
		}
	}
	if err := e.store.Delete(ctx, storeKeyV1); err != nil {
		return fmt.Errorf("deleting notification log %s after migrating it: %w", storeKeyV1, err)
	}
	return nil
}
