package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/text"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Panel sizes on Grafana's 24-column grid.
const (
	fullWidth    = 24
	halfWidth    = 12
	thirdWidth   = 8
	quarterWidth = 6
)

// timeSeries is a line chart with the legend as a table on the right, the
// layout on-call reads fastest when several series share a panel.
func timeSeries(title, unit string, width, height uint32) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Unit(unit).
		Span(width).
		Height(height).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true).
			Calcs([]string{"mean", "max", "lastNotNull"})).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
}

// statPanel is a single big number reduced to its last value.
func statPanel(title, unit string, width, height uint32) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Unit(unit).
		Span(width).
		Height(height).
		GraphMode(common.BigValueGraphModeArea).
		ColorMode(common.BigValueColorModeBackground).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
}

// tablePanel is a filterable table.
func tablePanel(title string, width, height uint32) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Title(title).
		Span(width).
		Height(height).
		Filterable(true)
}

// logsPanel shows log lines with details expandable.
func logsPanel(title string, width, height uint32) *logs.PanelBuilder {
	return logs.NewPanelBuilder().
		Title(title).
		Span(width).
		Height(height).
		ShowTime(true).
		WrapLogMessage(true).
		EnableLogDetails(true).
		SortOrder(common.LogsSortOrderDescending)
}

// markdown is a text panel explaining how to read a dashboard.
func markdown(title, content string, width, height uint32) *text.PanelBuilder {
	return text.NewPanelBuilder().
		Title(title).
		Span(width).
		Height(height).
		Mode(text.TextModeMarkdown).
		Content(content)
}

// thresholds builds absolute thresholds: a base colour, then (value,
// colour) steps in increasing order.
func thresholds(base string, steps ...any) cog.Builder[dashboard.ThresholdsConfig] {
	ts := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(steps); i += 2 {
		v := steps[i].(float64)
		ts = append(ts, dashboard.Threshold{Value: cog.ToPtr(v), Color: steps[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(ts)
}

// valueMap maps exact values to display text and colour.
func valueMap(pairs ...[3]string) []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i, p := range pairs {
		opts[p[0]] = dashboard.ValueMappingResult{Text: cog.ToPtr(p[1]), Color: cog.ToPtr(p[2]), Index: cog.ToPtr(int32(i))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// override is one field-config property.
func override(id string, value any) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: id, Value: value}
}

// bandOverrides draws the series named upper as a dashed line that fills
// down to lower, and lower as a dashed line, so the expected band reads as a
// shaded corridor around the actual series.
func bandOverrides(p *timeseries.PanelBuilder, upperRegexp, lowerRegexp, expectedRegexp string) *timeseries.PanelBuilder {
	dashed := map[string]any{"fill": "dash", "dash": []int{10, 10}}
	return p.
		OverrideByRegexp(upperRegexp, []dashboard.DynamicConfigValue{
			override("custom.fillBelowTo", lowerRegexp),
			override("custom.lineStyle", dashed),
			override("custom.fillOpacity", 15),
			override("color", map[string]any{"mode": "fixed", "fixedColor": "#8AB8FF"}),
		}).
		OverrideByRegexp(lowerRegexp, []dashboard.DynamicConfigValue{
			override("custom.lineStyle", dashed),
			override("custom.fillOpacity", 0),
			override("color", map[string]any{"mode": "fixed", "fixedColor": "#8AB8FF"}),
		}).
		OverrideByRegexp(expectedRegexp, []dashboard.DynamicConfigValue{
			override("custom.lineStyle", dashed),
			override("custom.fillOpacity", 0),
			override("color", map[string]any{"mode": "fixed", "fixedColor": "#5794F2"}),
		})
}

// newDashboard starts a dashboard with Vigil's common settings: fixed UID,
// tag, shared crosshair, and links to the other Vigil dashboards.
func newDashboard(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"vigil"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone("browser").
		Link(dashboard.NewDashboardLinkBuilder("Vigil").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"vigil"}).
			AsDropdown(true).
			KeepTime(true).
			IncludeVars(true))
}
