package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// query is one query found in a committed dashboard: a panel target or a
// variable's query.
type query struct {
	file   string // the dashboard's file under json/
	where  string // "file: panel title (refId)" or "file: variable name"
	dsUID  string
	dsType string
	text   string // PromQL, LogQL or SQL
}

// committedDashboards reads every JSON file under json/, the files Grafana
// provisions (the golden test keeps them equal to the code's output).
func committedDashboards(t *testing.T) map[string]map[string]any {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("json", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(All()) {
		t.Fatalf("json/ holds %d dashboards, the code defines %d: run go generate ./dashboards", len(paths), len(All()))
	}
	out := map[string]map[string]any{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = d
	}
	return out
}

// allPanels flattens rows into their panels.
func allPanels(d map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(list []any)
	walk = func(list []any) {
		for _, p := range list {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			out = append(out, pm)
			if nested, ok := pm["panels"].([]any); ok {
				walk(nested)
			}
		}
	}
	if ps, ok := d["panels"].([]any); ok {
		walk(ps)
	}
	return out
}

func dsOf(v any) (uid, typ string) {
	m, _ := v.(map[string]any)
	uid, _ = m["uid"].(string)
	typ, _ = m["type"].(string)
	return uid, typ
}

// allQueries lists every query of every committed dashboard, sorted so
// failures come out in a stable order.
func allQueries(t *testing.T) []query {
	t.Helper()
	var out []query
	for file, d := range committedDashboards(t) {
		for _, p := range allPanels(d) {
			title, _ := p["title"].(string)
			targets, _ := p["targets"].([]any)
			for _, tv := range targets {
				tm, _ := tv.(map[string]any)
				uid, typ := dsOf(tm["datasource"])
				text, _ := tm["expr"].(string)
				if sql, ok := tm["rawSql"].(string); ok {
					text = sql
				}
				ref, _ := tm["refId"].(string)
				out = append(out, query{file: file, where: file + ": " + title + " (" + ref + ")", dsUID: uid, dsType: typ, text: text})
			}
		}
		templating, _ := d["templating"].(map[string]any)
		vars, _ := templating["list"].([]any)
		for _, v := range vars {
			vm, _ := v.(map[string]any)
			if vm["type"] != "query" {
				continue
			}
			uid, typ := dsOf(vm["datasource"])
			var text string
			switch q := vm["query"].(type) {
			case string:
				text = q
			case map[string]any:
				text, _ = q["rawSql"].(string)
			}
			out = append(out, query{file: file, where: file + ": variable " + vm["name"].(string), dsUID: uid, dsType: typ, text: text})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].where < out[j].where })
	return out
}

func queriesOfType(t *testing.T, typ string) []query {
	t.Helper()
	var out []query
	for _, q := range allQueries(t) {
		if q.dsType == typ {
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s queries found in the dashboards", typ)
	}
	return out
}

// grafanaVariable matches $name, ${name} and ${name:format}.
var grafanaVariable = regexp.MustCompile(`\$\{([A-Za-z0-9_.]+)(?::([a-z]+))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// substitute replaces Grafana variables the way Grafana would before the
// query reaches the data source: value gives each variable's text.
func substitute(s string, value func(name, format string) string) string {
	return grafanaVariable.ReplaceAllStringFunc(s, func(m string) string {
		sub := grafanaVariable.FindStringSubmatch(m)
		name, format := sub[1], sub[2]
		if name == "" {
			name = sub[3]
		}
		return value(name, format)
	})
}

func trimSQL(s string) string { return strings.Join(strings.Fields(s), " ") }
