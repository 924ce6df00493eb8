package alerts

import (
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// routeSpec is a route as written, before inheritance: nil fields were left
// out and take the parent's value.
type routeSpec struct {
	node                                     *yaml.Node
	receiver                                 *yaml.Node
	groupBy                                  []string
	groupWait, groupInterval, repeatInterval *time.Duration
	matchers                                 Matchers
	hasMatchers                              bool
	cont                                     bool
	mute, active                             []*yaml.Node
	routes                                   []*routeSpec
}

// LoadConfig reads and parses the config file at path.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// ParseConfig parses a config file's content; file names it in errors. On
// failure the error is an Errors listing every problem found.
//
// Format: Alertmanager's configuration file, trimmed to what Vigil does,
// so every file Vigil accepts also passes `amtool check-config`:
//
//	global:
//	  resolve_timeout: 5m
//	receivers:
//	  - name: oncall       # a name only: see below
//	  - name: tickets
//	route:
//	  receiver: oncall
//	  group_by: [alertname, service_name, slo]
//	  group_wait: 5s
//	  group_interval: 1m
//	  repeat_interval: 4h
//	  routes:
//	    - matchers: ['severity="ticket"']
//	      receiver: tickets
//	      continue: false
//	      mute_time_intervals: [weekends]
//	inhibit_rules:
//	  - source_matchers: ['severity="page"']
//	    target_matchers: ['severity="ticket"']
//	    equal: [slo, service_name]
//	time_intervals:
//	  - name: weekends
//	    time_intervals:
//	      - weekdays: ['saturday', 'sunday']
//	        times: [{start_time: '00:00', end_time: '24:00'}]
//	        days_of_month: ['1:7', '-1']    # negative: from the month's end
//	        months: ['january:march', '12']
//	        years: ['2026']
//	        location: Europe/Paris
//
// A receiver is only a name. Where its notifications go is the collector
// configuration's business: the alertrouter connector maps each receiver to
// pipelines, and their exporters (a pagerduty exporter holding its routing
// key, say) do the sending, so no secret lives in this file.
//
// Fields left out of the root route take the defaults of DefaultConfig;
// child routes inherit from their parent. inhibit_rules left out entirely
// means DefaultInhibitRule; an empty list means none.
func ParseConfig(file string, data []byte) (*Config, error) {
	d := newDecoder(file)
	top := d.Document(data)
	if top == nil {
		return nil, d.Result()
	}
	cfg := &Config{ResolveTimeout: DefaultResolveTimeout, TimeIntervals: map[string]*TimeInterval{}}
	var root *routeSpec
	inhibitGiven := false
	var receiversNode *yaml.Node
	d.Mapping(top, "config", map[string]func(*yaml.Node){
		"global": func(n *yaml.Node) {
			d.Mapping(n, "global", map[string]func(*yaml.Node){
				"resolve_timeout": func(n *yaml.Node) {
					if v, ok := d.Duration(n, "resolve_timeout"); ok {
						if v <= 0 {
							d.Add(n, "resolve_timeout must be positive")
						}
						cfg.ResolveTimeout = v
					}
				},
			})
		},
		"resolve_timeout": func(n *yaml.Node) {
			d.Add(n, "resolve_timeout belongs under global:, as in Alertmanager's configuration")
		},
		"receivers": func(n *yaml.Node) {
			receiversNode = n
			cfg.Receivers = d.receivers(n)
		},
		"route": func(n *yaml.Node) { root = d.route(n) },
		"inhibit_rules": func(n *yaml.Node) {
			inhibitGiven = true
			cfg.InhibitRules = d.inhibitRules(n)
		},
		"time_intervals": func(n *yaml.Node) { cfg.TimeIntervals = d.timeIntervals(n) },
	})
	if top.Kind != yaml.MappingNode {
		return nil, d.Result()
	}
	if !inhibitGiven {
		cfg.InhibitRules = []InhibitRule{DefaultInhibitRule()}
	}
	if len(cfg.Receivers) == 0 && receiversNode == nil {
		d.Add(top, "config has no receivers")
	} else if len(cfg.Receivers) == 0 {
		d.Add(receiversNode, "receivers is empty")
	}
	if root == nil {
		d.Add(top, "config has no route")
	} else {
		cfg.Route = d.buildRoot(root, cfg)
	}
	if err := d.Result(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (d *decoder) receivers(n *yaml.Node) []Receiver {
	var out []Receiver
	seen := map[string]bool{}
	// Receivers of the older format carried their settings (a routing key);
	// say where those went rather than only that the field is unknown.
	moved := func(kind string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			d.Add(v, "receiver settings (%s) no longer live in the routing file: a receiver is a name, "+
				"mapped to pipelines by the alertrouter connector's receivers, whose exporters (pagerduty with its routing_key) send", kind)
		}
	}
	d.Each(n, "receivers", func(item *yaml.Node) {
		var r Receiver
		var nameNode *yaml.Node
		if !d.Mapping(item, "receiver", map[string]func(*yaml.Node){
			"name":      func(v *yaml.Node) { nameNode, r.Name = v, d.Str(v, "receiver name") },
			"pagerduty": moved("pagerduty"),
			"log":       moved("log"),
		}) {
			return
		}
		switch {
		case nameNode == nil || r.Name == "":
			d.Add(item, "receiver has no name")
		case seen[r.Name]:
			d.Add(nameNode, "receiver %q defined twice", r.Name)
		default:
			r.Pos = d.Pos(nameNode)
		}
		seen[r.Name] = true
		out = append(out, r)
	})
	return out
}

func (d *decoder) route(n *yaml.Node) *routeSpec {
	rs := &routeSpec{node: n}
	dur := func(dst **time.Duration, what string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			if x, ok := d.Duration(v, what); ok {
				if x < 0 || (x == 0 && what != "group_wait") {
					d.Add(v, "%s must be positive", what)
				}
				*dst = &x
			}
		}
	}
	names := func(dst *[]*yaml.Node, what string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			d.Each(v, what, func(item *yaml.Node) {
				if _, ok := d.Scalar(item, what+" item"); ok {
					*dst = append(*dst, item)
				}
			})
		}
	}
	d.Mapping(n, "route", map[string]func(*yaml.Node){
		"receiver":              func(v *yaml.Node) { d.Str(v, "receiver"); rs.receiver = v },
		"group_by":              func(v *yaml.Node) { rs.groupBy = d.labelNames(v, "group_by", true) },
		"group_wait":            dur(&rs.groupWait, "group_wait"),
		"group_interval":        dur(&rs.groupInterval, "group_interval"),
		"repeat_interval":       dur(&rs.repeatInterval, "repeat_interval"),
		"matchers":              func(v *yaml.Node) { rs.hasMatchers = true; rs.matchers = d.matchers(v, "matchers") },
		"continue":              func(v *yaml.Node) { rs.cont = d.Bool(v, "continue") },
		"mute_time_intervals":   names(&rs.mute, "mute_time_intervals"),
		"active_time_intervals": names(&rs.active, "active_time_intervals"),
		"routes": func(v *yaml.Node) {
			d.Each(v, "routes", func(item *yaml.Node) { rs.routes = append(rs.routes, d.route(item)) })
		},
	})
	return rs
}

// buildRoot checks what only the root may or must have and fills the root's
// unset fields with the defaults.
func (d *decoder) buildRoot(rs *routeSpec, cfg *Config) *Route {
	if rs.receiver == nil {
		d.Add(rs.node, "the root route must have a receiver")
	}
	if rs.hasMatchers {
		d.Add(rs.node, "the root route must not have matchers: it receives every alert")
	}
	if rs.cont {
		d.Add(rs.node, "the root route must not have continue")
	}
	parent := DefaultConfig().Route
	parent.Receiver = ""
	return d.buildRoute(rs, parent, "0", cfg)
}

func (d *decoder) buildRoute(rs *routeSpec, parent *Route, id string, cfg *Config) *Route {
	r := &Route{
		ID:             id,
		Receiver:       parent.Receiver,
		GroupBy:        parent.GroupBy,
		GroupWait:      parent.GroupWait,
		GroupInterval:  parent.GroupInterval,
		RepeatInterval: parent.RepeatInterval,
		Matchers:       rs.matchers,
		Continue:       rs.cont,
	}
	if rs.receiver != nil {
		r.Receiver = rs.receiver.Value
		if _, ok := cfg.Receiver(r.Receiver); !ok {
			d.Add(rs.receiver, "route refers to undefined receiver %q", r.Receiver)
		}
	}
	if rs.groupBy != nil {
		r.GroupBy = rs.groupBy
	}
	for dst, src := range map[*time.Duration]*time.Duration{&r.GroupWait: rs.groupWait, &r.GroupInterval: rs.groupInterval, &r.RepeatInterval: rs.repeatInterval} {
		if src != nil {
			*dst = *src
		}
	}
	for _, list := range []struct {
		nodes []*yaml.Node
		dst   *[]string
	}{{rs.mute, &r.MuteTimeIntervals}, {rs.active, &r.ActiveTimeIntervals}} {
		for _, n := range list.nodes {
			if cfg.TimeIntervals[n.Value] == nil {
				d.Add(n, "route refers to undefined time interval %q", n.Value)
			}
			*list.dst = append(*list.dst, n.Value)
		}
	}
	for i, child := range rs.routes {
		r.Routes = append(r.Routes, d.buildRoute(child, r, id+"."+strconv.Itoa(i), cfg))
	}
	return r
}

func (d *decoder) inhibitRules(n *yaml.Node) []InhibitRule {
	out := []InhibitRule{}
	d.Each(n, "inhibit_rules", func(item *yaml.Node) {
		var r InhibitRule
		var hasSource, hasTarget bool
		if !d.Mapping(item, "inhibit rule", map[string]func(*yaml.Node){
			"source_matchers": func(v *yaml.Node) { hasSource = true; r.SourceMatchers = d.matchers(v, "source_matchers") },
			"target_matchers": func(v *yaml.Node) { hasTarget = true; r.TargetMatchers = d.matchers(v, "target_matchers") },
			"equal":           func(v *yaml.Node) { r.Equal = d.labelNames(v, "equal", false) },
		}) {
			return
		}
		// Without matchers a rule would let any alert inhibit every other
		// one, which is never what was meant.
		if !hasSource || !hasTarget {
			d.Add(item, "inhibit rule needs both source_matchers and target_matchers")
		}
		out = append(out, r)
	})
	return out
}
