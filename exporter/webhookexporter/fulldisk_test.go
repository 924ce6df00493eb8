package webhookexporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/exporter/webhookexporter/internal/metadata"
	"github.com/vigil-otel/vigil/internal/testutil/fulldisk"
)

// TestNotificationQueuedBeforeTheDiskFillsIsSent: with a persistent
// sending queue (full.yaml's), a notification queued while the disk had
// room is sent although the disk is full when the queue reads it;
// exporterhelper alone drops it.
func TestNotificationQueuedBeforeTheDiskFillsIsSent(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var bodies []string
	held := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		first := len(bodies) == 0
		bodies = append(bodies, string(b))
		mu.Unlock()
		if first {
			held <- struct{}{}
			<-release // the one consumer waits here
		}
	}))
	t.Cleanup(srv.Close)

	ext := storagetest.NewFileBackedStorageExtension("file_storage", t.TempDir())
	disk := fulldisk.New(ext)
	cfg := createDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = srv.URL + "/hooks/T0"
	q := defaultQueueConfig()
	q.NumConsumers = 1
	q.StorageID = &ext.ID
	cfg.QueueConfig = configoptional.Some(q)
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), storagetest.NewStorageHost().WithExtension(ext.ID, disk)))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

	second := page
	second.Labels = map[string]string{"alertname": "SecondAlert", "severity": "page", "service_name": "checkout"}
	second.Fingerprint = alerts.Fingerprint(second.Labels)
	require.NoError(t, exp.ConsumeLogs(context.Background(), notification("chat", page)))
	<-held
	require.NoError(t, exp.ConsumeLogs(context.Background(), notification("chat", second))) // on disk
	disk.SetFull(true)
	close(release)

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) == 2
	}, 10*time.Second, 10*time.Millisecond, "the notification queued before the disk filled was not sent")
}
