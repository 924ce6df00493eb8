package labelname

import "testing"

func TestFromAttribute(t *testing.T) {
	tests := []struct {
		key, want string
		wantErr   bool
	}{
		{key: "service.name", want: "service_name"},
		{key: "http.route", want: "http_route"},
		{key: "k8s.pod.name", want: "k8s_pod_name"},
		{key: "already_valid", want: "already_valid"},
		{key: "a..b", want: "a_b"},
		{key: "2xx", want: "key_2xx"},
		{key: "dé.jà", want: "d_j_"}, // legacy names are ASCII
		{key: "__name__", want: "__name__"},
		{key: "", wantErr: true},
		{key: "...", wantErr: true},
	}
	for _, tt := range tests {
		got, err := FromAttribute(tt.key)
		if (err != nil) != tt.wantErr {
			t.Errorf("FromAttribute(%q) error %v, want error %v", tt.key, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("FromAttribute(%q) = %q, want %q", tt.key, got, tt.want)
		}
		if s := Sanitize(tt.key); s != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.key, s, tt.want)
		}
	}
}
