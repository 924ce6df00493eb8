// Package matchers reads the matchers on-call types into the console (the
// API's filter parameters and posted silences, the page's silence form)
// and says plainly what is wrong with one that cannot be read.
//
// Matchers are read with Alertmanager's classic parser (pkg/labels), as
// Vigil's routing and silences files are, because Vigil's labels are
// classic label names (letters, digits and '_'). Alertmanager's server and
// amtool since 0.27 default to its UTF-8 parser (matcher/parse, with the
// classic one as fallback: compat.FallbackMatcherParser), which takes
// `service.name="checkout"` as a matcher of a label named "service.name";
// in Vigil such a matcher could only match nothing, every alert's label
// being service_name, so it is refused, and the UTF-8 parser is asked only
// to find the name that made the input fail, so the error can name the
// label meant.
package matchers // import "github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/matchers"

import (
	"fmt"
	"strings"

	"github.com/prometheus/alertmanager/matcher/parse"
	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/vigil-otel/vigil/alerts"
	"github.com/vigil-otel/vigil/internal/alertevent"
)

// Parse reads one matcher (`service_name="checkout"`), as Alertmanager's
// API reads a filter parameter.
func Parse(s string) (*alerts.Matcher, error) {
	m, err := amlabels.ParseMatcher(s)
	if err != nil {
		return nil, explain(err, s)
	}
	return m, nil
}

// ParseList reads a comma-separated list of matchers
// (`service_name="checkout", slo=~"avail.*"`), as amtool and the page's
// form take them.
func ParseList(s string) (alerts.Matchers, error) {
	ms, err := amlabels.ParseMatchers(s)
	if err != nil {
		return nil, explain(err, s)
	}
	return ms, nil
}

// CheckName returns an error saying what is wrong with a label name that
// is no classic one, as a matcher posted in a silence may carry (amtool
// 0.27 and later parse `service.name=checkout` into the name
// "service.name"); nil for a valid name.
func CheckName(name string) error {
	if problem := nameProblem(name); problem != "" {
		return fmt.Errorf("invalid label name %q: %s", name, problem)
	}
	return nil
}

// badFormat starts the classic parser's error for input it cannot split
// into matchers, which names the matcher that failed.
const badFormat = "bad matcher format: "

// explain adds to the classic parser's error on input what is wrong with
// a label name in it, and names the input when the error does not (one
// about a value or a regular expression); when it does, the input is not
// said twice.
func explain(err error, input string) error {
	if !strings.HasPrefix(err.Error(), badFormat) {
		err = fmt.Errorf("%s%s: %w", badFormat, input, err)
	}
	ms, utf8Err := parse.Matchers(input)
	if utf8Err != nil {
		return err
	}
	for _, m := range ms {
		if problem := nameProblem(m.Name); problem != "" {
			return fmt.Errorf("%w: %s", err, problem)
		}
	}
	return err
}

// nameProblem says what is wrong with a label name, "" when nothing is.
// A name with a dot is most likely an OpenTelemetry attribute
// (service.name): the label Vigil makes of it is named, as the alert-event
// codec makes it (service_name, and slo.name's is slo).
func nameProblem(name string) string {
	if model.LegacyValidation.IsValidLabelName(name) {
		return ""
	}
	if !strings.Contains(name, ".") {
		return "label names are letters, digits and '_', and do not start with a digit"
	}
	problem := "label names cannot contain '.'"
	if label, ok := alertevent.LabelName(name); ok && label != name {
		problem += fmt.Sprintf("; Vigil's label for %s is %s", name, label)
	}
	return problem
}
