package fakepagerduty

import (
	"encoding/json"
	"strings"
	"testing"
)

const validKey = "e93facc04764012d7bfb002500d5d1a6"

// validTrigger is PagerDuty's documented example event.
func validTrigger() map[string]any {
	return map[string]any{
		"routing_key":  validKey,
		"event_action": "trigger",
		"dedup_key":    "srv01/mysql",
		"client":       "Sample Monitoring Service",
		"client_url":   "https://monitoring.service.com",
		"payload": map[string]any{
			"summary":        "DISK at 99% on machine prod-datapipe03.example.com",
			"timestamp":      "2015-07-17T08:42:58.315+0000",
			"severity":       "critical",
			"source":         "prod-datapipe03.example.com",
			"component":      "mysql",
			"group":          "prod-datapipe",
			"class":          "disk",
			"custom_details": map[string]any{"free space": "1%", "load avg": 0.75},
		},
		"links":  []any{map[string]any{"href": "http://pagerduty.example.com", "text": "An example link."}},
		"images": []any{map[string]any{"src": "https://chart.example/chart.png", "href": "https://example.com", "alt": "chart"}},
	}
}

func TestValidate(t *testing.T) {
	payload := func(ev map[string]any) map[string]any { return ev["payload"].(map[string]any) }
	tests := []struct {
		name       string
		mutate     func(ev map[string]any)
		raw        string // used instead of the mutated example when set
		wantStatus string
		wantErrors []string
	}{
		{name: "documented example", mutate: func(map[string]any) {}},
		{name: "resolve with dedup key only", mutate: func(ev map[string]any) {
			for k := range ev {
				if k != "routing_key" && k != "dedup_key" {
					delete(ev, k)
				}
			}
			ev["event_action"] = "resolve"
		}},
		{name: "acknowledge", mutate: func(ev map[string]any) { ev["event_action"] = "acknowledge" }},
		{name: "trigger without dedup key", mutate: func(ev map[string]any) { delete(ev, "dedup_key") }},
		{name: "orchestration routing key", mutate: func(ev map[string]any) { ev["routing_key"] = "R02ABCDEF0123456789ghijklmnopQRS" }},
		{name: "RFC 3339 timestamp", mutate: func(ev map[string]any) { payload(ev)["timestamp"] = "2026-11-21T20:00:00.123456789Z" }},
		{name: "summary of 1024 multi-byte characters", mutate: func(ev map[string]any) { payload(ev)["summary"] = strings.Repeat("語", 1024) }},
		{name: "dedup key of 255 characters", mutate: func(ev map[string]any) { ev["dedup_key"] = strings.Repeat("ü", 255) }},

		{name: "not JSON", raw: `{"routing_key":`, wantStatus: "Unrecognized object", wantErrors: []string{"JSON parse error"}},
		{name: "not an object", raw: `["trigger"]`, wantStatus: "Unrecognized object"},
		{name: "trailing data", raw: `{} {}`, wantStatus: "Unrecognized object"},
		{name: "too large", raw: `{"x":"` + strings.Repeat("a", MaxEventBytes) + `"}`, wantErrors: []string{"larger than the maximum"}},
		{name: "unknown top-level field", mutate: func(ev map[string]any) { ev["service_key"] = "x" }, wantErrors: []string{"Unknown field 'service_key'"}},
		{name: "routing key missing", mutate: func(ev map[string]any) { delete(ev, "routing_key") }, wantErrors: []string{"'routing_key' is missing or blank"}},
		{name: "routing key not a string", mutate: func(ev map[string]any) { ev["routing_key"] = 42 }, wantErrors: []string{"'routing_key' is missing or blank"}},
		{name: "routing key 31 characters", mutate: func(ev map[string]any) { ev["routing_key"] = validKey[1:] }, wantErrors: []string{"Length of 'routing_key' is incorrect (should be 32 characters)"}},
		{name: "routing key 33 characters", mutate: func(ev map[string]any) { ev["routing_key"] = validKey + "a" }, wantErrors: []string{"Length of 'routing_key' is incorrect"}},
		{name: "routing key alphabet", mutate: func(ev map[string]any) { ev["routing_key"] = "e93facc0-764012d7bfb002500d5d1a6" }, wantErrors: []string{"only ASCII letters and digits"}},
		{name: "event action missing", mutate: func(ev map[string]any) { delete(ev, "event_action") }, wantErrors: []string{"'event_action' must be one of"}},
		{name: "event action unknown", mutate: func(ev map[string]any) { ev["event_action"] = "escalate" }, wantErrors: []string{"'event_action' must be one of"}},
		{name: "dedup key too long", mutate: func(ev map[string]any) { ev["dedup_key"] = strings.Repeat("k", 256) }, wantErrors: []string{"'dedup_key' is too long"}},
		{name: "dedup key not a string", mutate: func(ev map[string]any) { ev["dedup_key"] = 7 }, wantErrors: []string{"'dedup_key' must be a string"}},
		{name: "resolve without dedup key", mutate: func(ev map[string]any) { ev["event_action"] = "resolve"; delete(ev, "dedup_key") }, wantErrors: []string{"'dedup_key' is required for resolve events"}},
		{name: "acknowledge with blank dedup key", mutate: func(ev map[string]any) { ev["event_action"] = "acknowledge"; ev["dedup_key"] = "" }, wantErrors: []string{"'dedup_key' is required for acknowledge events"}},
		{name: "trigger without payload", mutate: func(ev map[string]any) { delete(ev, "payload") }, wantErrors: []string{"'payload' is required for trigger events"}},
		{name: "payload not an object", mutate: func(ev map[string]any) { ev["payload"] = "disk full" }, wantErrors: []string{"'payload' must be an object"}},
		{name: "unknown payload field", mutate: func(ev map[string]any) { payload(ev)["priority"] = "P1" }, wantErrors: []string{"Unknown field 'payload.priority'"}},
		{name: "summary missing", mutate: func(ev map[string]any) { delete(payload(ev), "summary") }, wantErrors: []string{"'payload.summary' is missing or blank"}},
		{name: "summary blank", mutate: func(ev map[string]any) { payload(ev)["summary"] = "" }, wantErrors: []string{"'payload.summary' is missing or blank"}},
		{name: "summary too long", mutate: func(ev map[string]any) { payload(ev)["summary"] = strings.Repeat("語", 1025) }, wantErrors: []string{"'payload.summary' is too long (maximum 1024 characters)"}},
		{name: "source missing", mutate: func(ev map[string]any) { delete(payload(ev), "source") }, wantErrors: []string{"'payload.source' is missing or blank"}},
		{name: "severity missing", mutate: func(ev map[string]any) { delete(payload(ev), "severity") }, wantErrors: []string{"'payload.severity' must be one of"}},
		{name: "severity unknown", mutate: func(ev map[string]any) { payload(ev)["severity"] = "page" }, wantErrors: []string{"'payload.severity' must be one of"}},
		{name: "severity wrong case", mutate: func(ev map[string]any) { payload(ev)["severity"] = "Critical" }, wantErrors: []string{"'payload.severity' must be one of"}},
		{name: "timestamp not ISO 8601", mutate: func(ev map[string]any) { payload(ev)["timestamp"] = "21/11/2026 20:00" }, wantErrors: []string{"'payload.timestamp' must be an ISO 8601 timestamp"}},
		{name: "timestamp a number", mutate: func(ev map[string]any) { payload(ev)["timestamp"] = 1763755200 }, wantErrors: []string{"'payload.timestamp' must be an ISO 8601 timestamp"}},
		{name: "component not a string", mutate: func(ev map[string]any) { payload(ev)["component"] = 1 }, wantErrors: []string{"'payload.component' must be a string"}},
		{name: "group not a string", mutate: func(ev map[string]any) { payload(ev)["group"] = []any{} }, wantErrors: []string{"'payload.group' must be a string"}},
		{name: "class not a string", mutate: func(ev map[string]any) { payload(ev)["class"] = true }, wantErrors: []string{"'payload.class' must be a string"}},
		{name: "custom details not an object", mutate: func(ev map[string]any) { payload(ev)["custom_details"] = "free space 1%" }, wantErrors: []string{"'payload.custom_details' must be an object"}},
		{name: "client not a string", mutate: func(ev map[string]any) { ev["client"] = 1 }, wantErrors: []string{"'client' must be a string"}},
		{name: "client url relative", mutate: func(ev map[string]any) { ev["client_url"] = "/alerts" }, wantErrors: []string{"'client_url' must be an absolute URL"}},
		{name: "links not an array", mutate: func(ev map[string]any) { ev["links"] = map[string]any{"href": "https://x"} }, wantErrors: []string{"'links' must be an array"}},
		{name: "link not an object", mutate: func(ev map[string]any) { ev["links"] = []any{"https://x"} }, wantErrors: []string{"'links[0]' must be an object"}},
		{name: "link without href", mutate: func(ev map[string]any) { ev["links"] = []any{map[string]any{"text": "runbook"}} }, wantErrors: []string{"'links[0].href' is missing or blank"}},
		{name: "link href relative", mutate: func(ev map[string]any) { ev["links"] = []any{map[string]any{"href": "runbook.md"}} }, wantErrors: []string{"'links[0].href' must be an absolute URL"}},
		{name: "link text not a string", mutate: func(ev map[string]any) { ev["links"] = []any{map[string]any{"href": "https://x.example", "text": 3}} }, wantErrors: []string{"'links[0].text' must be a string"}},
		{name: "link unknown field", mutate: func(ev map[string]any) { ev["links"] = []any{map[string]any{"href": "https://x.example", "url": "y"}} }, wantErrors: []string{"Unknown field 'links[0].url'"}},
		{name: "image without src", mutate: func(ev map[string]any) { ev["images"] = []any{map[string]any{"href": "https://x.example"}} }, wantErrors: []string{"'images[0].src' is missing or blank"}},
		{name: "images not an array", mutate: func(ev map[string]any) { ev["images"] = "https://x.example/a.png" }, wantErrors: []string{"'images' must be an array"}},
		{
			name: "every problem reported at once",
			mutate: func(ev map[string]any) {
				ev["routing_key"] = "short"
				payload(ev)["severity"] = "sev1"
				delete(payload(ev), "source")
			},
			wantErrors: []string{"Length of 'routing_key'", "'payload.severity'", "'payload.source'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.raw)
			if tt.raw == "" {
				ev := validTrigger()
				tt.mutate(ev)
				var err error
				if body, err = json.Marshal(ev); err != nil {
					t.Fatal(err)
				}
			}
			got, rej := Validate(body)
			if tt.wantStatus == "" && len(tt.wantErrors) == 0 {
				if rej != nil {
					t.Fatalf("Validate() rejected a valid event: %+v", rej)
				}
				if got.RoutingKey == "" || got.EventAction == "" || string(got.Raw) != string(body) {
					t.Fatalf("Validate() decoded %+v", got)
				}
				return
			}
			if rej == nil {
				t.Fatal("Validate() accepted an invalid event")
			}
			wantStatus := tt.wantStatus
			if wantStatus == "" {
				wantStatus = "invalid event"
			}
			if rej.Status != wantStatus {
				t.Errorf("status = %q, want %q", rej.Status, wantStatus)
			}
			all := strings.Join(rej.Errors, "\n")
			for _, want := range tt.wantErrors {
				if !strings.Contains(all, want) {
					t.Errorf("errors %q do not mention %q", rej.Errors, want)
				}
			}
			if strings.Contains(all, validKey) {
				t.Errorf("errors %q quote the routing key", rej.Errors)
			}
		})
	}
}

func TestValidateDecodesDocumentedExample(t *testing.T) {
	body, _ := json.Marshal(validTrigger())
	ev, rej := Validate(body)
	if rej != nil {
		t.Fatal(rej)
	}
	if ev.Payload == nil || ev.Payload.Severity != "critical" || ev.Payload.CustomDetails["load avg"] != 0.75 ||
		len(ev.Links) != 1 || ev.Links[0].Text != "An example link." || len(ev.Images) != 1 || ev.ClientURL != "https://monitoring.service.com" {
		t.Fatalf("decoded %+v", ev)
	}
}
