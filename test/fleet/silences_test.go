package fleet

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/internal/testutil/amtooltest"
	"github.com/vigil-otel/vigil/internal/testutil/redistest"
	"github.com/vigil-otel/vigil/internal/testutil/vigiltest"
)

// amtool runs amtool at go.mod's Alertmanager version (amtooltest) against an evaluator's console; a machine
// without it fails with the install command.
func amtool(t *testing.T, inst *vigiltest.Instance, args ...string) string {
	t.Helper()
	path := amtooltest.Path(t)
	args = append([]string{"--alertmanager.url=" + inst.ConsoleURL()}, args...)
	// stdout only: amtool warns on stderr that its version and the
	// server's (Vigil's) differ.
	cmd := exec.Command(path, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("amtool %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// silencedPage reports whether the evaluator's console lists the page of
// service as firing and silenced by id.
func silencedPage(t *testing.T, inst *vigiltest.Instance, service, id string) bool {
	t.Helper()
	var alerts []struct {
		Labels map[string]string
		Status struct {
			State      string
			SilencedBy []string
		}
	}
	raw := amtool(t, inst, "alert", "query", "-o", "json", "--silenced")
	if err := json.Unmarshal([]byte(raw), &alerts); err != nil {
		t.Fatalf("amtool alert query: %v\n%s", err, raw)
	}
	for _, a := range alerts {
		if a.Labels["service_name"] == service && a.Labels["severity"] == "page" && slices.Contains(a.Status.SilencedBy, id) {
			return true
		}
	}
	return false
}

// groupedPage reports whether the evaluator's console lists a group
// (/api/v2/alerts/groups, as Grafana reads it) holding the page of
// service.
func groupedPage(t *testing.T, inst *vigiltest.Instance, service string) bool {
	t.Helper()
	var groups []struct {
		Alerts []struct{ Labels map[string]string }
	}
	if err := json.Unmarshal(consoleGet(t, inst, "/api/v2/alerts/groups"), &groups); err != nil {
		t.Fatalf("/api/v2/alerts/groups: %v", err)
	}
	for _, g := range groups {
		for _, a := range g.Alerts {
			if a.Labels["service_name"] == service && a.Labels["severity"] == "page" {
				return true
			}
		}
	}
	return false
}

// consoleGet returns the body of the evaluator's console at path.
func consoleGet(t *testing.T, inst *vigiltest.Instance, path string) []byte {
	t.Helper()
	resp, err := http.Get(inst.ConsoleURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s\n%s", path, resp.Status, body)
	}
	return body
}

// statusSection returns the section id of the evaluator's status page.
func statusSection(t *testing.T, inst *vigiltest.Instance, id string) string {
	t.Helper()
	page := string(consoleGet(t, inst, "/"))
	start := strings.Index(page, `<section id="`+id+`">`)
	if start < 0 {
		t.Fatalf("the status page has no section %q:\n%s", id, page)
	}
	end := strings.Index(page[start:], `</section>`)
	if end < 0 {
		t.Fatalf("the status page's section %q does not end:\n%s", id, page)
	}
	return page[start : start+end]
}

// TestSilencesAcrossEvaluators: on-call silences a service with amtool
// on one evaluator's console while another evaluator owns the service.
// The owner holds back the page its burn raises (its console lists the
// page as silenced by that ID, and so do the first console's API and
// status page, from what the owner publishes); `amtool silence expire` on the owner's
// console lets the page through, once, and the first console sees the
// silence expired.
func TestSilencesAcrossEvaluators(t *testing.T) {
	redis := redistest.Start(t, redistest.Options{})
	var services []string
	for i := range 6 {
		services = append(services, serviceName(i))
	}
	f := newFleet(t, redis.Addr, services)
	evs := []*vigiltest.Instance{f.startEvaluator(), f.startEvaluator()}
	gw := startGateway(t, evs, nil)
	c := newClient(t, gw.OTLPGRPCEndpoint())
	y := newTally()
	for _, s := range services {
		c.mustSend(t, s, 200, false)
		y.add(s, 200, false)
	}
	// A service owned by the second evaluator; the silence goes through
	// the first one's console.
	var hot string
	for _, s := range services {
		g, b := y.get(s)
		if f.owner(s, float64(g+b), evs, 30*time.Second) == evs[1] {
			hot = s
			break
		}
	}
	if hot == "" {
		t.Fatalf("the gateway routed none of %d services to the second evaluator", len(services))
	}
	console, owner := evs[0], evs[1]
	id := strings.TrimSpace(amtool(t, console, "silence", "add", "--author=oncall", "--comment=known errors",
		"--duration=2h", "service_name="+hot))
	if len(id) != 36 {
		t.Fatalf("amtool silence add printed %q, want the silence's ID", id)
	}

	// Burn until the owner's console lists the page, silenced by the ID
	// set on the other console.
	waitFor(t, 90*time.Second, "the owner listing "+hot+"'s page as silenced", func() bool {
		c.mustSend(t, hot, 20, true)
		y.add(hot, 20, true)
		return silencedPage(t, owner, hot, id)
	})
	// Past the group wait and several flushes: no page.
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); {
		c.mustSend(t, hot, 5, true)
		time.Sleep(200 * time.Millisecond)
	}
	if _, triggers, _ := pages(f.fake, hot); triggers != 0 {
		t.Fatalf("%s paged %d times under a silence set on another evaluator's console", hot, triggers)
	}
	// The other console lists the page too, as the owner holds it: the
	// fleet's alerts whichever evaluator answers.
	waitFor(t, 15*time.Second, "the other console listing "+hot+"'s page as silenced", func() bool {
		return silencedPage(t, console, hot, id)
	})
	if !groupedPage(t, console, hot) {
		t.Errorf("the first console lists no alert group holding %s's page (/api/v2/alerts/groups)", hot)
	}
	if firing := statusSection(t, console, "alerts"); !strings.Contains(firing, hot) {
		t.Errorf("the first console's status page does not list %s's page as firing:\n%s", hot, firing)
	}
	// The SLO status is published at most every 10s.
	waitFor(t, 15*time.Second, "the first console's status page showing "+hot+"'s SLO", func() bool {
		return strings.Contains(statusSection(t, console, "slos"), `data-slo="`+hot+`/`)
	})

	amtool(t, owner, "silence", "expire", id)
	waitFor(t, notifyWait, hot+"'s page once the silence expired", func() bool {
		c.mustSend(t, hot, 5, true)
		_, triggers, _ := pages(f.fake, hot)
		return triggers > 0
	})
	time.Sleep(3 * time.Second) // a second trigger would come now
	if _, triggers, _ := pages(f.fake, hot); triggers != 1 {
		t.Errorf("%s: %d page triggers after the silence expired, want 1", hot, triggers)
	}
	waitFor(t, 10*time.Second, "the first console seeing the silence expired", func() bool {
		return !strings.Contains(amtool(t, console, "silence", "query", "-q"), id) &&
			strings.Contains(amtool(t, console, "silence", "query", "-q", "--expired"), id)
	})
}
