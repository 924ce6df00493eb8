package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is what the demo injects into one simulated service: a share of
// requests that fail and extra latency added to every request.
type Fault struct {
	// ErrorRate is the probability, 0 to 1, that a request fails.
	ErrorRate float64 `json:"error_rate"`
	// Latency is added to every request.
	Latency Duration `json:"latency"`
}

// Duration marshals as Go's duration text ("400ms") so the switch reads the
// way it is set.
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Faults holds the fault of each simulated service. It is the demo's
// switch: set from the environment at start and changed over HTTP.
type Faults struct {
	mu     sync.Mutex
	faults map[string]Fault
}

// NewFaults returns a switch with no faults for the given services.
func NewFaults(services ...string) *Faults {
	f := &Faults{faults: map[string]Fault{}}
	for _, s := range services {
		f.faults[s] = Fault{}
	}
	return f
}

// Get returns the fault of service.
func (f *Faults) Get(service string) Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.faults[service]
}

// Set replaces the fault of a known service.
func (f *Faults) Set(service string, fault Fault) error {
	if fault.ErrorRate < 0 || fault.ErrorRate > 1 {
		return fmt.Errorf("error_rate %v is not between 0 and 1", fault.ErrorRate)
	}
	if fault.Latency < 0 {
		return fmt.Errorf("latency %v is negative", time.Duration(fault.Latency))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.faults[service]; !ok {
		return fmt.Errorf("unknown service %q", service)
	}
	f.faults[service] = fault
	return nil
}

// Snapshot returns every service's fault.
func (f *Faults) Snapshot() map[string]Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]Fault, len(f.faults))
	for k, v := range f.faults {
		out[k] = v
	}
	return out
}

// Fails draws whether one request of service fails.
func (f *Faults) Fails(service string) bool {
	rate := f.Get(service).ErrorRate
	return rate > 0 && rand.Float64() < rate //nolint:gosec // simulation, not security
}

// ServeHTTP is the switch's HTTP API:
//
//	GET    /fault                                   every service's fault
//	POST   /fault?service=checkout&error_rate=0.2&latency=400ms
//	DELETE /fault[?service=checkout]                back to healthy
func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		service := r.URL.Query().Get("service")
		if service == "" {
			service = "checkout"
		}
		fault := f.Get(service)
		if v := r.URL.Query().Get("error_rate"); v != "" {
			rate, err := strconv.ParseFloat(v, 64)
			if err != nil {
				http.Error(w, "error_rate: "+err.Error(), http.StatusBadRequest)
				return
			}
			fault.ErrorRate = rate
		}
		if v := r.URL.Query().Get("latency"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				http.Error(w, "latency: "+err.Error(), http.StatusBadRequest)
				return
			}
			fault.Latency = Duration(d)
		}
		if err := f.Set(service, fault); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	case http.MethodDelete:
		services := []string{r.URL.Query().Get("service")}
		if services[0] == "" {
			services = services[:0]
			for s := range f.Snapshot() {
				services = append(services, s)
			}
		}
		for _, s := range services {
			if err := f.Set(s, Fault{}); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.Snapshot())
}
