package fleet

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-otel/vigil/internal/testutil/mimirtest"
	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// TestRulesInMimir: evaluators remote-write their SLO series to a real
// Mimir (collector/config/remote-write.yaml over evaluator.yaml), the
// output of `vigil slo rules` for the same specs is loaded into Mimir's
// ruler through its API, and the burst that pages through Vigil fires the
// alert of the same name in Mimir. The groups' evaluation interval is cut
// from 1m to 5s for the test; nothing else of the rules is changed.
func TestRulesInMimir(t *testing.T) {
	mimir := mimirtest.Start(t)
	redis := redistest.Start(t, redistest.Options{})
	var services []string
	for i := range 4 {
		services = append(services, serviceName(i))
	}
	const hot = "svc-01"
	f := newFleet(t, redis.Addr, services)
	f.extraArgs = []string{"--config", configPath("remote-write.yaml")}
	f.extraEnv = map[string]string{"PROMETHEUS_REMOTE_WRITE_URL": mimir.PushURL()}
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())

	// The rules, as a user generates them, into the ruler.
	out, err := exec.Command(vigiltest.Binary(t), "slo", "rules", filepath.Join(f.specs, hot+".yaml")).Output()
	if err != nil {
		t.Fatalf("vigil slo rules: %v", err)
	}
	var file struct {
		Groups []map[string]any `yaml:"groups"`
	}
	if err := yaml.Unmarshal(out, &file); err != nil {
		t.Fatalf("parsing the rules: %v\n%s", err, out)
	}
	for _, g := range file.Groups {
		g["interval"] = "5s"
		group, err := yaml.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		if err := mimir.SetRuleGroup("vigil", group); err != nil {
			t.Fatalf("loading rule group %v into Mimir: %v", g["name"], err)
		}
	}

	y := newTally()
	for _, s := range services {
		c.mustSend(t, s, 200, false)
		y.add(s, 200, false)
	}
	dedup := burstUntilPaged(t, f, c, y, hot)
	var vigilAlert string
	for _, ev := range f.fake.Triggers() {
		if ev.DedupKey == dedup {
			vigilAlert, _ = ev.Payload.CustomDetails["alertname"].(string)
		}
	}
	// Keep burning while Mimir's ruler catches up.
	var firing []string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		firing, err = mimirFiring(mimir, hot)
		if err == nil && len(firing) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert of %s fires in Mimir within 3m (last: %v, %v)", hot, firing, err)
		}
		c.mustSend(t, hot, 10, true)
		time.Sleep(500 * time.Millisecond)
	}
	want := "SLOBurnRate-" + hot + "-availability-page"
	if !contains(firing, want) {
		t.Errorf("Mimir fires %v, want %s", firing, want)
	}
	if vigilAlert != want {
		t.Errorf("Vigil paged %q, Mimir fires %q", vigilAlert, want)
	}
	t.Logf("Vigil paged %q; Mimir fires %v", vigilAlert, firing)
}

// mimirFiring lists the names of the firing alerts of service in Mimir.
func mimirFiring(m *mimirtest.Server, service string) ([]string, error) {
	body, err := m.Get("/api/v1/alerts", url.Values{})
	if err != nil {
		return nil, err
	}
	var out struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%w in %s", err, body)
	}
	var names []string
	for _, a := range out.Data.Alerts {
		if a.State == "firing" && a.Labels["service_name"] == service {
			names = append(names, a.Labels["alertname"])
		}
	}
	return names, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
