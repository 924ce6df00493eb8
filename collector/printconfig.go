package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"
)

// redactedMask is what print-config prints in place of a secret, as the
// collector's configopaque.String does.
const redactedMask = "[REDACTED]"

// secretQueryParams are query parameters that carry credentials by name;
// their values are redacted in any URL print-config prints.
var secretQueryParams = map[string]bool{
	"token": true, "access_token": true, "auth": true, "key": true, "api_key": true, "apikey": true,
	"secret": true, "password": true, "sig": true, "signature": true, "code": true,
}

// pathSecretSettings are the exporters whose endpoint URL is itself the
// credential, path and query included (a Slack or Teams webhook): those
// are printed with scheme and host only, as their runtime logs do. The
// Helm chart takes the webhook URL from a Secret for the same reason.
var pathSecretSettings = []string{"webhook"}

// redactPrintConfig makes print-config, in its default redacted mode, also
// hide credentials inside URLs. The command is the collector's own
// (otelcol v0.159 command_print.go): it redacts only fields typed
// configopaque.String (routing_key, password, dsn, headers), while an
// endpoint is a plain string in every component (confighttp), so remote
// write's https://user:password@... and a webhook URL's token were
// printed as written. --mode=unredacted is left alone.
func redactPrintConfig(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() != "print-config" || c.RunE == nil {
			continue
		}
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if mode, _ := cmd.Flags().GetString("mode"); !strings.EqualFold(mode, "redacted") {
				return run(cmd, args)
			}
			format, _ := cmd.Flags().GetString("format")
			out := cmd.OutOrStdout()
			var buf bytes.Buffer
			cmd.SetOut(&buf)
			err := run(cmd, args)
			cmd.SetOut(out)
			if err != nil {
				return err
			}
			printed, err := redactPrinted(buf.Bytes(), format)
			if err != nil {
				return err
			}
			_, err = out.Write(printed)
			return err
		}
	}
}

// redactPrinted redacts the configuration print-config printed in format
// (yaml or json) and prints it again the way print-config does. Output
// with nothing to redact is returned unchanged.
func redactPrinted(printed []byte, format string) ([]byte, error) {
	var cfg map[string]any
	isJSON := strings.EqualFold(format, "json")
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(printed))
		dec.UseNumber()
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("redacting print-config's output: %w", err)
		}
	} else if err := yaml.Unmarshal(printed, &cfg); err != nil {
		return nil, fmt.Errorf("redacting print-config's output: %w", err)
	}
	if !redactConfig(cfg) {
		return printed, nil
	}
	if isJSON {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		err := enc.Encode(cfg)
		return b.Bytes(), err
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// redactConfig redacts credentials in the URLs of a resolved
// configuration, in place, and says whether it changed anything.
func redactConfig(cfg map[string]any) bool {
	changed := false
	if exporters, ok := cfg["exporters"].(map[string]any); ok {
		for id, v := range exporters {
			typ, _, _ := strings.Cut(id, "/")
			settings, ok := v.(map[string]any)
			if !ok || !contains(pathSecretSettings, typ) {
				continue
			}
			if s, ok := settings["endpoint"].(string); ok && s != "" {
				if r := redactWholeURL(s); r != s {
					settings["endpoint"], changed = r, true
				}
			}
		}
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				v[k] = walk(e)
			}
		case []any:
			for i, e := range v {
				v[i] = walk(e)
			}
		case string:
			if r := redactURLCredentials(v); r != v {
				changed = true
				return r
			}
		}
		return v
	}
	walk(cfg)
	return changed
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// redactURLCredentials hides the userinfo of an absolute URL and the values
// of its query parameters named like credentials, and keeps the rest as
// written; any other string is returned as it is.
func redactURLCredentials(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s
	}
	changed := u.User != nil
	params := strings.Split(u.RawQuery, "&")
	for i, p := range params {
		name, _, hasValue := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil && hasValue && secretQueryParams[strings.ToLower(n)] {
			params[i], changed = name+"="+redactedMask, true
		}
	}
	if !changed {
		return s
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString(redactedMask + "@")
	}
	b.WriteString(u.Host + u.EscapedPath())
	if u.RawQuery != "" {
		b.WriteString("?" + strings.Join(params, "&"))
	}
	if u.Fragment != "" {
		b.WriteString("#" + u.EscapedFragment())
	}
	return b.String()
}

// redactWholeURL keeps a URL's scheme and host: its userinfo, path and
// query are the credential.
func redactWholeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return redactedMask
	}
	if u.User == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == "" {
		return s
	}
	return u.Scheme + "://" + u.Host + "/" + redactedMask
}
