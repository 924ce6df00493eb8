package dashboards

import (
	"errors"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// promQuery is a range query on the provisioned Prometheus.
func promQuery(refID, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		RefId(refID).
		Datasource(prometheusRef).
		Expr(expr).
		Range().
		LegendFormat(legend)
}

// promInstant is an instant table query (for "now" tables and stats).
func promInstant(refID, expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		RefId(refID).
		Datasource(prometheusRef).
		Expr(expr).
		Instant().
		Format(prometheus.PromQueryFormatTable)
}

// lokiQuery is a LogQL query on the provisioned Loki.
func lokiQuery(refID, expr, legend string) *loki.DataqueryBuilder {
	return loki.NewDataqueryBuilder().
		RefId(refID).
		Datasource(lokiRef).
		Expr(expr).
		LegendFormat(legend)
}

// promVariable is a dashboard variable filled from Prometheus label values.
func promVariable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(prometheusRef).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*")
}

// ClickHouse query types and formats of the Grafana ClickHouse data source
// (v4 query model: editorType "sql" with rawSql; format tells the backend
// how to shape the frame).
const (
	chQueryTable      = "table"
	chQueryTimeSeries = "timeseries"
	chQueryTraces     = "traces"

	chFormatTimeSeries = 0
	chFormatTable      = 1
	chFormatTrace      = 3
)

// ClickHouseQuery is one SQL query of the Grafana ClickHouse data source.
// The Foundation SDK has no builder for this plugin, so this type implements
// its Dataquery variant and serialises in the plugin's own query model.
type ClickHouseQuery struct {
	RefID      string               `json:"refId"`
	Datasource common.DataSourceRef `json:"datasource"`
	EditorType string               `json:"editorType"`
	QueryType  string               `json:"queryType"`
	Format     int                  `json:"format"`
	RawSQL     string               `json:"rawSql"`
}

var _ variants.Dataquery = ClickHouseQuery{}

// ImplementsDataqueryVariant marks ClickHouseQuery as a panel target.
func (ClickHouseQuery) ImplementsDataqueryVariant() {}

// DataqueryType is the plugin type the query belongs to.
func (ClickHouseQuery) DataqueryType() string { return ClickHouseType }

// Equals compares two queries field by field.
func (q ClickHouseQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(ClickHouseQuery)
	return ok && reflect.DeepEqual(q, o)
}

// Validate rejects queries the data source could not run.
func (q ClickHouseQuery) Validate() error {
	if q.RawSQL == "" {
		return errors.New("clickhouse query: rawSql is empty")
	}
	if q.RefID == "" {
		return errors.New("clickhouse query: refId is empty")
	}
	return nil
}

// clickHouseQueryBuilder lets a ClickHouseQuery be a panel target.
type clickHouseQueryBuilder struct{ q ClickHouseQuery }

// Build implements cog.Builder.
func (b clickHouseQueryBuilder) Build() (variants.Dataquery, error) {
	if err := b.q.Validate(); err != nil {
		return nil, err
	}
	return b.q, nil
}

func chQuery(refID, queryType string, format int, sql string) cog.Builder[variants.Dataquery] {
	return clickHouseQueryBuilder{ClickHouseQuery{
		RefID:      refID,
		Datasource: clickHouseRef,
		EditorType: "sql",
		QueryType:  queryType,
		Format:     format,
		RawSQL:     sql,
	}}
}

// chTable is a ClickHouse query shown as a table.
func chTable(refID, sql string) cog.Builder[variants.Dataquery] {
	return chQuery(refID, chQueryTable, chFormatTable, sql)
}

// chTimeSeries is a ClickHouse query whose first column is the time.
func chTimeSeries(refID, sql string) cog.Builder[variants.Dataquery] {
	return chQuery(refID, chQueryTimeSeries, chFormatTimeSeries, sql)
}

// chTrace is a ClickHouse query in the trace view's span layout.
func chTrace(refID, sql string) cog.Builder[variants.Dataquery] {
	return chQuery(refID, chQueryTraces, chFormatTrace, sql)
}
