package matchers

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorsSayWhatIsWrong: an OpenTelemetry attribute name in a matcher
// is refused saying that label names have no dots and which label Vigil
// has for it, once; other bad input keeps the parser's words, with the
// input named once.
func TestErrorsSayWhatIsWrong(t *testing.T) {
	tests := []struct{ in, want string }{
		{`service.name="checkout"`, `bad matcher format: service.name="checkout": label names cannot contain '.'; Vigil's label for service.name is service_name`},
		{`service.name=checkout`, `bad matcher format: service.name=checkout: label names cannot contain '.'; Vigil's label for service.name is service_name`},
		{`"service.name"="checkout"`, `bad matcher format: "service.name"="checkout": label names cannot contain '.'; Vigil's label for service.name is service_name`},
		{`slo.name="availability"`, `bad matcher format: slo.name="availability": label names cannot contain '.'; Vigil's label for slo.name is slo`},
		{`http.route="/pay"`, `bad matcher format: http.route="/pay": label names cannot contain '.'; Vigil's label for http.route is http_route`},
		// An annotation has no label: only the rule is said.
		{`slo.burn_rate.long="14"`, `bad matcher format: slo.burn_rate.long="14": label names cannot contain '.'`},
		{`nope`, `bad matcher format: nope`},
		{`service_name=~"(`, `bad matcher format: service_name=~"(: matcher value contains unescaped double quote: "(`},
		{`service_name=~"("`, "bad matcher format: service_name=~\"(\": error parsing regexp: missing closing ): `^(?:()$`"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			assert.EqualError(t, err, tt.want)
		})
	}

	_, err := ParseList(`slo="availability", service.name="checkout"`)
	assert.EqualError(t, err, `bad matcher format: service.name="checkout": label names cannot contain '.'; Vigil's label for service.name is service_name`)
	ms, err := ParseList(`slo="availability", service_name=~"check.*"`)
	require.NoError(t, err)
	assert.Equal(t, `{slo="availability",service_name=~"check.*"}`, ms.String())
	m, err := Parse(`service_name="checkout"`)
	require.NoError(t, err)
	assert.Equal(t, `service_name="checkout"`, m.String())

	assert.EqualError(t, CheckName("service.name"), `invalid label name "service.name": label names cannot contain '.'; Vigil's label for service.name is service_name`)
	assert.EqualError(t, CheckName("1x"), `invalid label name "1x": label names are letters, digits and '_', and do not start with a digit`)
	assert.NoError(t, CheckName("service_name"))
}
