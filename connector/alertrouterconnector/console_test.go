package alertrouterconnector

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/metadata"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func request(t *testing.T, method, url, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

// TestConsole: a silence posted to the router's API mutes the next
// notification and its expiry lets it through; a cross-origin browser
// POST is refused; the page and the API share the listener.
func TestConsole(t *testing.T) {
	addr := freeAddr(t)
	h := start(t, options{console: addr})
	base := "http://" + addr
	json := `{"matchers":[{"name":"slo","value":"availability","isRegex":false}],"startsAt":"` + t0.Format(time.RFC3339) +
		`","endsAt":"` + t0.Add(time.Hour).Format(time.RFC3339) + `","createdBy":"alice","comment":"known"}`

	code, body := request(t, http.MethodPost, base+"/api/v2/silences", json, http.Header{
		"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"},
	})
	assert.Equal(t, http.StatusForbidden, code, "a cross-origin browser request is refused: %s", body)

	code, body = request(t, http.MethodPost, base+"/api/v2/silences", json, http.Header{"Content-Type": {"application/json"}})
	require.Equal(t, http.StatusOK, code, body)
	id := body[strings.Index(body, `"silenceID":"`)+13 : strings.LastIndex(body, `"`)]

	h.at(t, 0, event("page", "firing"))
	h.at(t, 10*time.Second, event("page", "firing"))
	assert.Empty(t, h.notes(t, pipeOncall, 0), "silenced")
	code, body = request(t, http.MethodGet, base+"/api/v2/alerts?silenced=true", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"silencedBy":["`+id+`"]`)

	code, _ = request(t, http.MethodDelete, base+"/api/v2/silence/"+id, "", nil)
	require.Equal(t, http.StatusOK, code)
	h.at(t, 2*time.Minute, event("page", "firing")) // the group's next flush
	assert.Equal(t, []string{"trigger SLOBurnRate-checkout-availability-page"}, h.notes(t, pipeOncall, 1))

	code, body = request(t, http.MethodGet, base+"/", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `data-alert="SLOBurnRate-checkout-availability-page"`)
	code, body = request(t, http.MethodGet, base+"/api/v2/status", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "Vigil's built-in routing")
}

// TestConsoleAddressInUse: a console that cannot listen fails the start
// with the address, and leaves nothing running (goleak checks).
func TestConsoleAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Receivers = map[string][]pipeline.ID{alerts.DefaultReceiverName: {pipeOncall}}
	cfg.Console.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = ln.Addr().String()
	c, err := NewFactory().CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg,
		connector.NewLogsRouter(map[pipeline.ID]consumer.Logs{pipeOncall: consumertest.NewNop()}))
	require.NoError(t, err)
	err = c.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "console: listening on "+ln.Addr().String())
	require.NoError(t, c.Shutdown(context.Background()))
}
