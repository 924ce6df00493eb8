package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Definition is one dashboard and the file its JSON is written to.
type Definition struct {
	// File is the name under json/.
	File  string
	Build func() *dashboard.DashboardBuilder
}

// All lists every dashboard Vigil ships, in the order of the README.
func All() []Definition {
	return []Definition{
		{"service-overview.json", ServiceOverview},
		{"slos.json", SLOs},
		{"slo-detail.json", SLODetail},
		{"anomalies.json", Anomalies},
		{"alerts.json", Alerts},
		{"logs.json", Logs},
		{"traces.json", Traces},
		{"vigil.json", Self},
	}
}

// Render builds a dashboard and encodes it as indented JSON with a final
// newline, the exact bytes committed under json/.
func Render(d Definition) ([]byte, error) {
	built, err := d.Build().Build()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	setPanelDataSources(&built)
	if err := addDataSourceVariables(&built); err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Queries hold '<', '>' and '&'; escaping them would make the committed
	// JSON unreadable in review.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(built); err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	return buf.Bytes(), nil
}

// Files returns every generated file keyed by its path relative to the
// dashboards folder: the dashboards' JSON and the provisioning YAML.
func Files() (map[string][]byte, error) {
	files := map[string][]byte{
		"provisioning/datasources/vigil.yaml": []byte(DataSourcesYAML()),
		"provisioning/dashboards/vigil.yaml":  []byte(DashboardsProvisioningYAML()),
	}
	for _, d := range All() {
		b, err := Render(d)
		if err != nil {
			return nil, err
		}
		files["json/"+d.File] = b
	}
	return files, nil
}

// setPanelDataSources gives every panel whose queries all use one data
// source that data source, so Grafana never runs them as "mixed" or falls
// back to the default data source.
func setPanelDataSources(d *dashboard.Dashboard) {
	set := func(p *dashboard.Panel) {
		if p.Datasource != nil || len(p.Targets) == 0 {
			return
		}
		var uid, typ string
		for _, t := range p.Targets {
			var ref *common.DataSourceRef
			switch q := t.(type) {
			case prometheus.Dataquery:
				ref = q.Datasource
			case loki.Dataquery:
				ref = q.Datasource
			case ClickHouseQuery:
				ref = &q.Datasource
			}
			if ref == nil || ref.Uid == nil || (uid != "" && *ref.Uid != uid) {
				return
			}
			uid, typ = *ref.Uid, *ref.Type
		}
		r := ref(typ, uid)
		p.Datasource = &r
	}
	for _, pr := range d.Panels {
		if pr.Panel != nil {
			set(pr.Panel)
		}
		if pr.RowPanel != nil {
			for i := range pr.RowPanel.Panels {
				set(&pr.RowPanel.Panels[i])
			}
		}
	}
}

// addDataSourceVariables puts, first in the dashboard's variables, the data
// source variable of every plugin type its panels and variables use (and
// no other, so no dropdown selects nothing).
func addDataSourceVariables(d *dashboard.Dashboard) error {
	used := map[string]bool{}
	note := func(r *common.DataSourceRef) {
		if r != nil && r.Type != nil {
			used[*r.Type] = true
		}
	}
	for _, v := range d.Templating.List {
		note(v.Datasource)
	}
	for _, pr := range d.Panels {
		if pr.Panel != nil {
			note(pr.Panel.Datasource)
		}
		if pr.RowPanel != nil {
			for i := range pr.RowPanel.Panels {
				note(pr.RowPanel.Panels[i].Datasource)
			}
		}
	}
	var vars []dashboard.VariableModel
	for _, dv := range DataSourceVariables {
		if !used[dv.Type] {
			continue
		}
		v, err := dashboard.NewDatasourceVariableBuilder(dv.Name).
			Label(dv.Label).
			Type(dv.Type).
			Build()
		if err != nil {
			return err
		}
		vars = append(vars, v)
	}
	d.Templating.List = append(vars, d.Templating.List...)
	return nil
}
