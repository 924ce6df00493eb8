package httpexport

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{name: "absent", value: "", wantOK: false},
		{name: "seconds", value: "7", want: 7 * time.Second, wantOK: true},
		{name: "fractional seconds are not delay-seconds", value: "1.5", wantOK: false},
		{name: "RFC 850 date", value: "Saturday, 21-Nov-26 20:01:00 GMT", want: time.Minute, wantOK: true},
		{name: "spaces", value: " 3 ", want: 3 * time.Second, wantOK: true},
		{name: "zero", value: "0", want: 0, wantOK: true},
		{name: "negative", value: "-1", wantOK: false},
		{name: "huge seconds capped", value: "99999999999", want: MaxRetryAfter, wantOK: true},
		{name: "seconds overflowing int64 capped", value: "99999999999999999999999", want: MaxRetryAfter, wantOK: true},
		{name: "date ahead", value: now.Add(45 * time.Second).Format(http.TimeFormat), want: 45 * time.Second, wantOK: true},
		{name: "date in the past", value: now.Add(-time.Hour).Format(http.TimeFormat), want: 0, wantOK: true},
		{name: "date far ahead capped", value: "Sun, 21 Nov 2027 20:00:00 GMT", want: MaxRetryAfter, wantOK: true},
		{name: "garbage", value: "soon", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			got, ok := RetryAfter(h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("RetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
