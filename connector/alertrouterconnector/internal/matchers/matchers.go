// Package matchers reads the matchers on-call types into the console (the
// API's filter parameters and posted silences, the page's silence form)
// and says plainly what is wrong with one that cannot be read.
//
// Matchers are read with Alertmanager's classic parser (pkg/labels), as
// Vigil's routing and silences files are, and a failure is explained as
// theirs is (alerts.ExplainMatcherError): a `service.name="checkout"`,
// which Alertmanager's UTF-8 parser would take, is refused with the label
// meant, service_name.
package matchers // import "github.com/vigil-otel/vigil/connector/alertrouterconnector/internal/matchers"

import (
	"fmt"
	"strings"

	amlabels "github.com/prometheus/alertmanager/pkg/labels"

	"github.com/vigil-otel/vigil/alerts"
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
	if problem := alerts.LabelNameProblem(name); problem != "" {
		return fmt.Errorf("invalid label name %q: %s", name, problem)
	}
	return nil
}

// badFormat starts the classic parser's error for input it cannot split
// into matchers, which names the matcher that failed.
const badFormat = "bad matcher format: "

// explain names the input in the classic parser's error when the error
// does not (one about a value or a regular expression), and adds what is
// wrong with a label name in it (alerts.ExplainMatcherError).
func explain(err error, input string) error {
	if !strings.HasPrefix(err.Error(), badFormat) {
		err = fmt.Errorf("%s%s: %w", badFormat, input, err)
	}
	return alerts.ExplainMatcherError(err, input)
}
