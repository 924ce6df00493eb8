package events

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

const testKey RoutingKey = "0123456789abcdef0123456789abcdef"

func TestValidateRoutingKey(t *testing.T) {
	tests := []struct {
		name    string
		key     RoutingKey
		wantErr string
	}{
		{name: "service integration key, hex", key: "e93facc04764012d7bfb002500d5d1a6"},
		{name: "orchestration key, mixed case", key: "R02ABCDEF0123456789ghijklmnopQRS"},
		{name: "empty", key: "", wantErr: "must be 32 characters, got 0"},
		{name: "31 characters", key: "e93facc04764012d7bfb002500d5d1a", wantErr: "got 31"},
		{name: "33 characters", key: "e93facc04764012d7bfb002500d5d1a6f", wantErr: "got 33"},
		{name: "dash", key: "e93facc0-764012d7bfb002500d5d1a6", wantErr: "character 9 is not"},
		{name: "space at the end", key: "e93facc04764012d7bfb002500d5d1a ", wantErr: "character 32 is not"},
		{name: "32 runes, not ASCII", key: "é93facc04764012d7bfb002500d5d1a6", wantErr: "character 1 is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRoutingKey(tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateRoutingKey() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateRoutingKey() = %v, want error containing %q", err, tt.wantErr)
			}
			if tt.key != "" && strings.Contains(err.Error(), string(tt.key)) {
				t.Fatalf("error %q contains the key", err)
			}
		})
	}
}

func TestNewBuilderRejectsBadSeverities(t *testing.T) {
	tests := []struct {
		name     string
		settings BuilderSettings
		wantErr  []string
	}{
		{name: "defaults", settings: BuilderSettings{}},
		{name: "override", settings: BuilderSettings{Severities: map[string]Severity{"ticket": SeverityInfo}}},
		{
			name: "every problem reported",
			settings: BuilderSettings{
				Severities:       map[string]Severity{"page": "sev1"},
				FallbackSeverity: "urgent",
			},
			wantErr: []string{`"page" maps to "sev1"`, `fallback severity "urgent"`},
		},
		{
			name:     "relative client URL",
			settings: BuilderSettings{ClientURL: "/alerts"},
			wantErr:  []string{`client URL "/alerts"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBuilder(tt.settings)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("NewBuilder() = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewBuilder() succeeded, want error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestBuilderSeverity(t *testing.T) {
	tests := []struct {
		name     string
		settings BuilderSettings
		in       string
		want     Severity
	}{
		{name: "page is critical", in: "page", want: SeverityCritical},
		{name: "ticket is warning", in: "ticket", want: SeverityWarning},
		{name: "unknown falls back to error", in: "sev3", want: SeverityError},
		{name: "override one entry", settings: BuilderSettings{Severities: map[string]Severity{"ticket": SeverityInfo}}, in: "ticket", want: SeverityInfo},
		{name: "override keeps the others", settings: BuilderSettings{Severities: map[string]Severity{"ticket": SeverityInfo}}, in: "page", want: SeverityCritical},
		{name: "extra entry", settings: BuilderSettings{Severities: map[string]Severity{"sev3": SeverityWarning}}, in: "sev3", want: SeverityWarning},
		{name: "own fallback", settings: BuilderSettings{FallbackSeverity: SeverityCritical}, in: "", want: SeverityCritical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBuilder(tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Severity(tt.in); got != tt.want {
				t.Fatalf("Severity(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	started := time.Date(2026, 11, 21, 20, 0, 0, 500, time.FixedZone("CET", 3600))
	firing := Alert{
		Action:      ActionTrigger,
		Fingerprint: "4f1c2a9e0b7d3c55",
		Name:        "CheckoutAvailability",
		Summary:     "checkout: availability SLO burning 14.4x budget",
		Service:     "checkout",
		Severity:    "page",
		Component:   "http",
		Group:       "payments",
		Class:       "slo",
		Time:        started,
		Details:     map[string]any{"slo.burn_rate.long": 14.4, "trace_ids": []string{"a", "b"}},
		Links: []Link{
			{Href: "https://grafana.example/d/slo", Text: "Dashboard"},
			{Href: "", Text: "runbook without URL is dropped"},
			{Href: "/d/slo?var-service={{.service}}", Text: "relative URL is dropped"},
		},
		Images: []Image{
			{Src: "https://grafana.example/render.png", Href: "not a URL"},
			{Alt: "no src, dropped"},
			{Src: "render.png", Alt: "relative src, dropped"},
		},
	}
	tests := []struct {
		name    string
		key     RoutingKey
		alert   func(a Alert) Alert
		check   func(t *testing.T, ev Event)
		wantErr string
	}{
		{
			name:  "trigger carries every field",
			key:   testKey,
			alert: func(a Alert) Alert { return a },
			check: func(t *testing.T, ev Event) {
				if ev.RoutingKey != testKey || ev.EventAction != ActionTrigger || ev.DedupKey != "4f1c2a9e0b7d3c55" {
					t.Errorf("envelope = %q %q, want trigger 4f1c2a9e0b7d3c55", ev.EventAction, ev.DedupKey)
				}
				want := Payload{
					Summary: "checkout: availability SLO burning 14.4x budget", Source: "checkout",
					Severity: SeverityCritical, Timestamp: "2026-11-21T19:00:00.0000005Z",
					Component: "http", Group: "payments", Class: "slo",
				}
				got := *ev.Payload
				got.CustomDetails = nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("payload = %+v, want %+v", got, want)
				}
				if ev.Payload.CustomDetails["slo.burn_rate.long"] != 14.4 {
					t.Errorf("custom_details = %v", ev.Payload.CustomDetails)
				}
				if len(ev.Links) != 1 || ev.Links[0].Href != "https://grafana.example/d/slo" {
					t.Errorf("links = %+v, want the one with an href", ev.Links)
				}
				if len(ev.Images) != 1 || ev.Images[0].Src == "" || ev.Images[0].Href != "" {
					t.Errorf("images = %+v, want the one with a src, its bad href removed", ev.Images)
				}
				if ev.Client != "Vigil" || ev.ClientURL != "https://vigil.example" {
					t.Errorf("client = %q %q", ev.Client, ev.ClientURL)
				}
			},
		},
		{
			name:  "resolve is the envelope only",
			key:   testKey,
			alert: func(a Alert) Alert { a.Action = ActionResolve; return a },
			check: func(t *testing.T, ev Event) {
				want := Event{RoutingKey: testKey, EventAction: ActionResolve, DedupKey: "4f1c2a9e0b7d3c55"}
				if ev.Payload != nil || ev.Links != nil || ev.Client != "" || ev.DedupKey != want.DedupKey || ev.EventAction != want.EventAction {
					t.Errorf("resolve = %+v, want %+v", ev, want)
				}
			},
		},
		{
			name:  "ticket severity",
			key:   testKey,
			alert: func(a Alert) Alert { a.Severity = "ticket"; return a },
			check: func(t *testing.T, ev Event) {
				if ev.Payload.Severity != SeverityWarning {
					t.Errorf("severity = %q, want warning", ev.Payload.Severity)
				}
			},
		},
		{
			name:  "summary falls back to the name, source to unknown_service",
			key:   testKey,
			alert: func(a Alert) Alert { a.Summary, a.Service = "", ""; return a },
			check: func(t *testing.T, ev Event) {
				if ev.Payload.Summary != "CheckoutAvailability" || ev.Payload.Source != UnknownSource {
					t.Errorf("summary, source = %q, %q", ev.Payload.Summary, ev.Payload.Source)
				}
			},
		},
		{
			name:  "zero time leaves the timestamp out",
			key:   testKey,
			alert: func(a Alert) Alert { a.Time = time.Time{}; return a },
			check: func(t *testing.T, ev Event) {
				if ev.Payload.Timestamp != "" {
					t.Errorf("timestamp = %q, want empty", ev.Payload.Timestamp)
				}
			},
		},
		{
			name:  "long summary cut",
			key:   testKey,
			alert: func(a Alert) Alert { a.Summary = strings.Repeat("ü", 3000); return a },
			check: func(t *testing.T, ev Event) {
				if n := utf8.RuneCountInString(ev.Payload.Summary); n != MaxSummaryLength {
					t.Errorf("summary has %d characters, want %d", n, MaxSummaryLength)
				}
			},
		},
		{
			name:  "NaN and infinite details become text",
			key:   testKey,
			alert: func(a Alert) Alert { a.Details = map[string]any{"nan": math.NaN(), "inf": math.Inf(1)}; return a },
			check: func(t *testing.T, ev Event) {
				if ev.Payload.CustomDetails["nan"] != "NaN" || ev.Payload.CustomDetails["inf"] != "+Inf" {
					t.Errorf("custom_details = %v", ev.Payload.CustomDetails)
				}
				if _, err := Encode(ev); err != nil {
					t.Errorf("Encode() = %v", err)
				}
			},
		},
		{
			name:  "unencodable detail becomes text",
			key:   testKey,
			alert: func(a Alert) Alert { a.Details = map[string]any{"fn": func() {}}; return a },
			check: func(t *testing.T, ev Event) {
				if _, ok := ev.Payload.CustomDetails["fn"].(string); !ok {
					t.Errorf("custom_details[fn] = %T, want string", ev.Payload.CustomDetails["fn"])
				}
			},
		},
		{name: "bad routing key", key: "short", alert: func(a Alert) Alert { return a }, wantErr: "routing key must be 32 characters"},
		{name: "no fingerprint", key: testKey, alert: func(a Alert) Alert { a.Fingerprint = ""; return a }, wantErr: "no fingerprint"},
		{name: "bad action", key: testKey, alert: func(a Alert) Alert { a.Action = "escalate"; return a }, wantErr: `"escalate"`},
		{name: "no summary, no name", key: testKey, alert: func(a Alert) Alert { a.Summary, a.Name = "", ""; return a }, wantErr: "neither summary nor alert name"},
	}
	b, err := NewBuilder(BuilderSettings{Client: "Vigil", ClientURL: "https://vigil.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.alert(firing)
			ev, err := b.Build(tt.key, in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build() error = %v, want %q", err, tt.wantErr)
				}
				if !consumererror.IsPermanent(err) {
					t.Fatalf("Build() error %v is not permanent", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build() = %v", err)
			}
			tt.check(t, ev)
		})
	}
	if _, ok := firing.Details["nan"]; ok {
		t.Fatal("Build modified the caller's details")
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{name: "short", in: "hello", max: 10, want: "hello"},
		{name: "exactly max", in: "hello", max: 5, want: "hello"},
		{name: "ascii cut", in: "hello world", max: 8, want: "hello w…"},
		{name: "two-byte runes", in: "ééééé", max: 3, want: "éé…"},
		{name: "three-byte runes", in: "日本語のテキスト", max: 4, want: "日本語…"},
		{name: "four-byte runes", in: "🔥🔥🔥🔥", max: 2, want: "🔥…"},
		{name: "combining mark counts as a rune", in: "e\u0301e\u0301e\u0301", max: 4, want: "e\u0301e…"},
		{name: "invalid UTF-8 replaced", in: "ab\xffcd", max: 10, want: "ab\uFFFDcd"},
		{name: "max one", in: "abc", max: 1, want: "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.in, tt.max)
			if got != tt.want {
				t.Fatalf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > tt.max {
				t.Fatalf("Truncate(%q, %d) = %q: invalid or too long", tt.in, tt.max, got)
			}
		})
	}
}

func TestTruncateSummaryLimit(t *testing.T) {
	// Every rune width, cut at every offset around the limit.
	for _, r := range []string{"a", "é", "語", "🔥"} {
		for n := MaxSummaryLength - 2; n <= MaxSummaryLength+2; n++ {
			in := strings.Repeat(r, n)
			got := Truncate(in, MaxSummaryLength)
			runes := utf8.RuneCountInString(got)
			switch {
			case n <= MaxSummaryLength && got != in:
				t.Errorf("%d×%q: changed although within the limit", n, r)
			case n > MaxSummaryLength && (runes != MaxSummaryLength || !strings.HasSuffix(got, Ellipsis) || !strings.HasPrefix(in, strings.TrimSuffix(got, Ellipsis))):
				t.Errorf("%d×%q: got %d runes, want a %d-rune prefix ending in an ellipsis", n, r, runes, MaxSummaryLength)
			}
		}
	}
}

func TestDedupKey(t *testing.T) {
	long := strings.Repeat("x", MaxDedupKeyLength+1)
	tests := []struct {
		name string
		in   string
		want func(got string) bool
	}{
		{name: "short unchanged", in: "abc", want: func(got string) bool { return got == "abc" }},
		{name: "255 runes unchanged", in: strings.Repeat("ü", MaxDedupKeyLength), want: func(got string) bool { return got == strings.Repeat("ü", MaxDedupKeyLength) }},
		{name: "256 hashed", in: long, want: func(got string) bool {
			return strings.HasPrefix(got, hashedDedupPrefix) && len(got) <= MaxDedupKeyLength && got == DedupKey(long)
		}},
		{name: "different long keys differ", in: long + "y", want: func(got string) bool { return got != DedupKey(long) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DedupKey(tt.in); !tt.want(got) {
				t.Fatalf("DedupKey() = %q", got)
			}
		})
	}
}

func encodedLen(t *testing.T, ev Event) int {
	t.Helper()
	b, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func TestFitSize(t *testing.T) {
	const limit = 4000
	base := func(details map[string]any) Event {
		return Event{
			RoutingKey: testKey, EventAction: ActionTrigger, DedupKey: "k",
			Payload: &Payload{Summary: "s", Source: "svc", Severity: SeverityCritical, CustomDetails: details},
		}
	}
	tests := []struct {
		name        string
		ev          Event
		wantErr     error
		wantTrimmed []string
		wantDropped []string
		wantKept    map[string]any
	}{
		{
			name:     "small event untouched",
			ev:       base(map[string]any{"a": "1"}),
			wantKept: map[string]any{"a": "1"},
		},
		{
			name:        "one large string trimmed",
			ev:          base(map[string]any{"log": strings.Repeat("ab", 5000), "burn": 14.4}),
			wantTrimmed: []string{"log"},
			wantKept:    map[string]any{"burn": 14.4},
		},
		{
			name:        "multi-byte string trimmed on a rune boundary",
			ev:          base(map[string]any{"log": strings.Repeat("語", 3000)}),
			wantTrimmed: []string{"log"},
		},
		{
			name:        "largest goes first, smaller kept",
			ev:          base(map[string]any{"big": strings.Repeat("b", 6000), "mid": strings.Repeat("m", 1500), "small": "s"}),
			wantTrimmed: []string{"big"},
			wantKept:    map[string]any{"mid": strings.Repeat("m", 1500), "small": "s"},
		},
		{
			name:        "many medium values dropped until it fits",
			ev:          base(map[string]any{"a": strings.Repeat("a", 1500), "b": strings.Repeat("b", 1500), "c": strings.Repeat("c", 1500), "d": strings.Repeat("d", 1400)}),
			wantDropped: []string{"a"},
			wantTrimmed: []string{"b"},
			wantKept:    map[string]any{"c": strings.Repeat("c", 1500), "d": strings.Repeat("d", 1400)},
		},
		{
			name:        "non-string value trimmed as JSON text",
			ev:          base(map[string]any{"trace_ids": strings.Split(strings.Repeat("0123456789abcdef,", 400), ",")}),
			wantTrimmed: []string{"trace_ids"},
		},
		{
			name:    "too large without details",
			ev:      Event{RoutingKey: testKey, EventAction: ActionTrigger, DedupKey: "k", Links: []Link{{Href: "https://x.example/" + strings.Repeat("p", 5000)}}},
			wantErr: ErrEventTooLarge,
		},
		{
			name: "too large even after dropping every detail",
			ev: func() Event {
				ev := base(map[string]any{"a": strings.Repeat("a", 3000)})
				ev.ClientURL = "https://x.example/" + strings.Repeat("p", 5000)
				return ev
			}(),
			wantErr: ErrEventTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			var before map[string]any
			if ev.Payload != nil {
				before = ev.Payload.CustomDetails
			}
			beforeLen := len(before)
			err := FitSize(&ev, limit)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("FitSize() = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FitSize() = %v", err)
			}
			if n := encodedLen(t, ev); n > limit {
				t.Fatalf("event is %d bytes after FitSize, limit %d", n, limit)
			}
			if len(before) != beforeLen {
				t.Fatal("FitSize modified the caller's map")
			}
			details := ev.Payload.CustomDetails
			for k, v := range tt.wantKept {
				got, _ := json.Marshal(details[k])
				want, _ := json.Marshal(v)
				if string(got) != string(want) {
					t.Errorf("detail %q changed", k)
				}
			}
			note, _ := details[TruncationNoteKey].(string)
			if len(tt.wantTrimmed)+len(tt.wantDropped) == 0 {
				if note != "" {
					t.Errorf("unexpected note %q", note)
				}
				return
			}
			for _, k := range tt.wantTrimmed {
				s, ok := details[k].(string)
				if !ok || !strings.HasSuffix(s, Ellipsis) || !utf8.ValidString(s) || len(s) < minTrimmedDetail {
					t.Errorf("detail %q = %.40q…, want a valid trimmed string", k, s)
				}
				if orig, ok := before[k].(string); ok && !strings.HasPrefix(orig, strings.TrimSuffix(s, Ellipsis)) {
					t.Errorf("detail %q is not a prefix of the original", k)
				}
				if !strings.Contains(note, "trimmed: ") || !strings.Contains(note, k) {
					t.Errorf("note %q does not name trimmed %q", note, k)
				}
			}
			for _, k := range tt.wantDropped {
				if _, ok := details[k]; ok {
					t.Errorf("detail %q kept, want dropped", k)
				}
			}
		})
	}
}

func TestBuildFitsPagerDutyLimit(t *testing.T) {
	b, err := NewBuilder(BuilderSettings{})
	if err != nil {
		t.Fatal(err)
	}
	details := map[string]any{
		"stack":     strings.Repeat("goroutine 1 [running]:\n", 40000), // ~960 KB
		"trace_ids": []string{"4bf92f3577b34da6a3ce929d0e0e4736"},
		"budget":    0.25,
	}
	ev, err := b.Build(testKey, Alert{Action: ActionTrigger, Fingerprint: "f", Summary: "s", Service: "svc", Severity: "page", Details: details})
	if err != nil {
		t.Fatal(err)
	}
	n := encodedLen(t, ev)
	if n > MaxEventBytes || n < MaxEventBytes-20000 {
		t.Fatalf("event is %d bytes, want just under %d (trimmed, not emptied)", n, MaxEventBytes)
	}
	if ev.Payload.CustomDetails["budget"] != 0.25 || ev.Payload.CustomDetails[TruncationNoteKey] == nil {
		t.Fatalf("details = budget %v note %v", ev.Payload.CustomDetails["budget"], ev.Payload.CustomDetails[TruncationNoteKey])
	}
}

// TestBuildDropsHugeLinks: a link is never trimmed to fit the size limit,
// so one made of huge label values (the console's silence link holds
// every label) is dropped rather than cost the page: the event is built,
// within the limit, with its other links.
func TestBuildDropsHugeLinks(t *testing.T) {
	b, err := NewBuilder(BuilderSettings{})
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("x", MaxEventBytes)
	ev, err := b.Build(testKey, Alert{
		Action: ActionTrigger, Fingerprint: "f", Summary: "s", Service: "svc", Severity: "page",
		Details: map[string]any{"team": huge},
		Links: []Link{
			{Href: "https://runbooks.example/svc", Text: "Runbook"},
			{Href: "https://vigil.example/?silence=" + huge, Text: "Silence in Vigil"},
		},
		Images: []Image{{Src: "https://grafana.example/render.png?q=" + huge}},
	})
	if err != nil {
		t.Fatalf("Build: %v, want the event without the huge link", err)
	}
	if len(ev.Links) != 1 || ev.Links[0].Text != "Runbook" || len(ev.Images) != 0 {
		t.Errorf("links %+v, images %d: want the runbook only", ev.Links, len(ev.Images))
	}
	if n := encodedLen(t, ev); n > MaxEventBytes {
		t.Errorf("event is %d bytes, over %d", n, MaxEventBytes)
	}
	ok, err := b.Build(testKey, Alert{Action: ActionTrigger, Fingerprint: "f", Summary: "s", Severity: "page",
		Links: []Link{{Href: "https://vigil.example/?silence=" + strings.Repeat("x", MaxLinkBytes-len("https://vigil.example/?silence=")), Text: "at the limit"}}})
	if err != nil || len(ok.Links) != 1 {
		t.Errorf("a link of exactly MaxLinkBytes: %v, links %d, want kept", err, len(ok.Links))
	}
}
