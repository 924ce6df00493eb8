package fleet

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestShippedConfigsValidate: the fleet's shipped configs load with the
// variables they document, and without them say which one is missing.
func TestShippedConfigsValidate(t *testing.T) {
	tests := []struct {
		name    string
		configs []string
		env     []string
		wantErr string // "" for success
	}{
		{"gateway", []string{"gateway.yaml"}, []string{"VIGIL_EVALUATORS=[127.0.0.1:25317, 127.0.0.1:26317]"}, ""},
		{"gateway without evaluators", []string{"gateway.yaml"}, nil, "no endpoints specified for the static resolver"},
		{"evaluator", []string{"evaluator.yaml"}, []string{"VIGIL_STORE_ENDPOINT=127.0.0.1:6379"}, ""},
		{"evaluator without a store", []string{"evaluator.yaml"}, nil, "redis_storage: endpoint: required"},
		{"evaluator with remote write", []string{"evaluator.yaml", "remote-write.yaml"},
			[]string{"VIGIL_STORE_ENDPOINT=127.0.0.1:6379", "PROMETHEUS_REMOTE_WRITE_URL=http://127.0.0.1:9009/api/v1/push"}, ""},
		{"evaluator with storage", []string{"evaluator.yaml", "storage.yaml"}, []string{"VIGIL_STORE_ENDPOINT=127.0.0.1:6379"}, ""},
		{"evaluator with storage and remote write", []string{"evaluator.yaml", "storage.yaml", "remote-write.yaml"},
			[]string{"VIGIL_STORE_ENDPOINT=127.0.0.1:6379", "PROMETHEUS_REMOTE_WRITE_URL=http://127.0.0.1:9009/api/v1/push"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"validate"}
			for _, c := range tt.configs {
				args = append(args, "--config", configPath(c))
			}
			cmd := exec.Command(vigiltest.Binary(t), args...)
			cmd.Dir = t.TempDir()
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "VIGIL_EVALUATORS=") && !strings.HasPrefix(kv, "VIGIL_STORE_ENDPOINT=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, tt.env...)
			out, err := cmd.CombinedOutput()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("validate failed: %v\n%s", err, out)
			case tt.wantErr != "" && err == nil:
				t.Errorf("validate passed, want an error with %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(string(out), tt.wantErr):
				t.Errorf("error lacks %q:\n%s", tt.wantErr, out)
			}
		})
	}
}
