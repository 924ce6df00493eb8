package anomalycli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
)

// csvSeries writes a NAB-style CSV: a flat noisy-free-ish level with one
// spike at row spike (or none if spike < 0).
func csvSeries(n, spike int) string {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		v := 50 + 3*math.Sin(float64(i)*1.7) // deterministic wiggle
		if i == spike {
			v = 500
		}
		fmt.Fprintf(&b, "%s,%g\n", start.Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"), v)
	}
	return b.String()
}

func TestDetectWritesOneScoredRowPerInputRow(t *testing.T) {
	in := csvSeries(400, 300)
	var out bytes.Buffer
	if err := Detect(strings.NewReader(in), &out, anomaly.DefaultConfig(), LabelOnset); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "timestamp,value,anomaly_score,label" {
		t.Fatalf("header %q", lines[0])
	}
	inLines := strings.Split(strings.TrimSpace(in), "\n")
	if len(lines) != len(inLines) {
		t.Fatalf("%d output lines for %d input lines", len(lines), len(inLines))
	}
	labels := 0
	for i, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) != 4 || f[0]+","+f[1] != inLines[i+1] {
			t.Fatalf("row %d: %q does not echo %q", i, l, inLines[i+1])
		}
		if f[3] == "1" {
			labels++
			if i != 300 {
				t.Errorf("label at row %d, want only at the spike (300)", i)
			}
		}
	}
	if labels != 1 {
		t.Errorf("%d labelled rows, want 1", labels)
	}
}

func TestLabelStateMarksEveryFlaggedRow(t *testing.T) {
	var onset, state bytes.Buffer
	in := csvSeries(400, 300)
	if err := Detect(strings.NewReader(in), &onset, anomaly.DefaultConfig(), LabelOnset); err != nil {
		t.Fatal(err)
	}
	if err := Detect(strings.NewReader(in), &state, anomaly.DefaultConfig(), LabelState); err != nil {
		t.Fatal(err)
	}
	count := func(s string) int { return strings.Count(s, ",1\n") }
	if count(state.String()) < count(onset.String())+anomaly.DefaultConfig().ClearPoints-1 {
		t.Fatalf("state labels %d, onset labels %d: state should cover the flag until it clears", count(state.String()), count(onset.String()))
	}
}

// Each output row must be readable before the next input row is written:
// the detector may not wait for data it has not been given.
func TestDetectStreamsRowByRow(t *testing.T) {
	pr, pw := io.Pipe()
	or, ow := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Detect(pr, ow, anomaly.DefaultConfig(), LabelOnset)
		ow.Close()
	}()
	out := bufio.NewReader(or)
	rows := strings.SplitAfter(csvSeries(20, -1), "\n")
	for i, row := range rows {
		if row == "" {
			continue
		}
		if _, err := io.WriteString(pw, row); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() { l, _ := out.ReadString('\n'); got <- l }()
		select {
		case l := <-got:
			if i > 0 && !strings.HasPrefix(l, strings.TrimSpace(row)+",") {
				t.Fatalf("row %d: got %q for input %q", i, l, row)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("row %d: no output before the next input row", i)
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDetectNoLookAhead(t *testing.T) {
	full := csvSeries(500, 450)
	lines := strings.SplitAfter(full, "\n")
	prefix := strings.Join(lines[:300], "")
	var a, b bytes.Buffer
	if err := Detect(strings.NewReader(full), &a, anomaly.DefaultConfig(), LabelState); err != nil {
		t.Fatal(err)
	}
	if err := Detect(strings.NewReader(prefix), &b, anomaly.DefaultConfig(), LabelState); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.String(), b.String()) {
		t.Fatal("output for a prefix differs from the prefix of the full output")
	}
}

func TestDetectErrorsNameTheLine(t *testing.T) {
	good := "2014-04-01 00:00:00,1\n"
	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "line 1: empty input"},
		{"bad header", "time,value\n" + good, `line 1: header must be "timestamp,value"`},
		{"bad time", "timestamp,value\n" + good + "2014-04-01T00:05,2\n", "line 3: time stamp"},
		{"bad value", "timestamp,value\n" + good + "2014-04-01 00:05:00,abc\n", `line 3: value "abc" is not a number`},
		{"extra field", "timestamp,value\n" + good + good + "2014-04-01 00:10:00,1,2\n", "line 4: want 2 fields"},
		{"missing field", "timestamp,value\n2014-04-01 00:00:00\n", "line 2: want 2 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Detect(strings.NewReader(tt.input), io.Discard, anomaly.DefaultConfig(), LabelOnset)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDetectAcceptsCRLFAndBlankLines(t *testing.T) {
	in := "timestamp,value\r\n2014-04-01 00:00:00,1\r\n\r\n2014-04-01 00:05:00,2"
	var out bytes.Buffer
	if err := Detect(strings.NewReader(in), &out, anomaly.DefaultConfig(), LabelOnset); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "\n"); got != 3 {
		t.Fatalf("%d lines written, want 3:\n%s", got, out.String())
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, body, wantErr string
		check               func(anomaly.Config) bool
	}{
		{"override", "threshold: 6\nweekly: false\n", "", func(c anomaly.Config) bool {
			return c.Threshold == 6 && !c.Weekly && c.Daily && c.LevelAlpha == anomaly.DefaultConfig().LevelAlpha
		}},
		{"empty file keeps defaults", "", "", func(c anomaly.Config) bool { return c == anomaly.DefaultConfig() }},
		{"durations", "seasonal_level_memory: 36h\n", "", func(c anomaly.Config) bool { return c.SeasonalLevelMemory == 36*time.Hour }},
		{"unknown key", "treshold: 6\n", "treshold", nil},
		{"invalid value", "persistence_k: 5\npersistence_n: 3\n", "persistence_k", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(write(strings.ReplaceAll(tt.name, " ", "_")+".yaml", tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Fatalf("config %+v", cfg)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "series.csv")
	if err := os.WriteFile(input, []byte(csvSeries(200, 150)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"detect", []string{"detect", "--input", input}, "", "timestamp,value,anomaly_score,label\n2014-04-01 00:00:00,50,"},
		{"missing input flag", []string{"detect"}, `required flag(s) "input" not set`, ""},
		{"missing file", []string{"detect", "--input", filepath.Join(dir, "nope.csv")}, "no such file", ""},
		{"bad label mode", []string{"detect", "--input", input, "--label", "rows"}, `label mode "rows"`, ""},
		{"bad row names file and line", []string{"detect", "--input", writeFile(t, dir, "bad.csv", "timestamp,value\nx,1\n")}, "bad.csv: line 2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := NewCommand()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(io.Discard)
			cmd.SetArgs(tt.args)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.String(), tt.wantOut) {
				t.Fatalf("output starts %q", out.String()[:80])
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDetectRefusesBadValuesAndBackwardTime: a value that is not a number,
// one beyond float64's range, NaN and ±Inf, and a time stamp earlier than
// the previous row's are each refused with the line, in words that tell
// them apart.
func TestDetectRefusesBadValuesAndBackwardTime(t *testing.T) {
	head := "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:10:00,2\n"
	tests := []struct {
		name, row, want string
	}{
		{"not a number", "2014-04-01 00:15:00,abc", `line 4: value "abc" is not a number`},
		{"too large", "2014-04-01 00:15:00,1e400", `line 4: value "1e400" is out of range (the largest magnitude is about 1.8e308)`},
		{"too large negative", "2014-04-01 00:15:00, -1e400", `line 4: value "-1e400" is out of range (the largest magnitude is about 1.8e308)`},
		{"NaN", "2014-04-01 00:15:00,NaN", `line 4: value "NaN" is not a finite number`},
		{"nan", "2014-04-01 00:15:00,nan", `line 4: value "nan" is not a finite number`},
		{"Inf", "2014-04-01 00:15:00,Inf", `line 4: value "Inf" is not a finite number`},
		{"+Inf", "2014-04-01 00:15:00,+Inf", `line 4: value "+Inf" is not a finite number`},
		{"-Inf", "2014-04-01 00:15:00,-Inf", `line 4: value "-Inf" is not a finite number`},
		{"backwards", "2014-04-01 00:05:00,3",
			`line 4: time stamp "2014-04-01 00:05:00" is earlier than "2014-04-01 00:10:00" on line 3: time stamps must not go backwards (equal ones are accepted)`},
		{"backwards after a blank line", "\n2014-04-01 00:05:00,3",
			`line 5: time stamp "2014-04-01 00:05:00" is earlier than "2014-04-01 00:10:00" on line 3: time stamps must not go backwards (equal ones are accepted)`},
		// Instants are compared, not text: 01:00+02:00 is 23:00 UTC the day before.
		{"backwards in another zone", "2014-04-01T01:00:00+02:00,3",
			`line 4: time stamp "2014-04-01T01:00:00+02:00" is earlier than "2014-04-01 00:10:00" on line 3: time stamps must not go backwards (equal ones are accepted)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Detect(strings.NewReader(head+tt.row+"\n"), io.Discard, anomaly.DefaultConfig(), LabelOnset)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v\nwant       %s", err, tt.want)
			}
		})
	}
}

// TestDetectAcceptsEqualTimeStamps: duplicate time stamps (the NAB corpus
// has some) are scored in file order, as are later ones in another zone.
func TestDetectAcceptsEqualTimeStamps(t *testing.T) {
	in := "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:00:00,2\n2014-04-01T02:00:00+02:00,3\n2014-04-01 00:05:00,4\n"
	var out bytes.Buffer
	if err := Detect(strings.NewReader(in), &out, anomaly.DefaultConfig(), LabelOnset); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"2014-04-01 00:00:00,1,", "2014-04-01 00:00:00,2,", "2014-04-01T02:00:00+02:00,3,", "2014-04-01 00:05:00,4,"}
	if len(lines) != 1+len(want) {
		t.Fatalf("%d lines written, want %d:\n%s", len(lines), 1+len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i+1], w) {
			t.Errorf("row %d: %q, want it to start %q", i, lines[i+1], w)
		}
	}
}

// TestRowsBeforeAnErrorAreWritten: a bad row stops the run, and every row
// scored before it is in the output, as a run on the rows before it writes
// them, when Detect returns.
func TestRowsBeforeAnErrorAreWritten(t *testing.T) {
	for _, n := range []int{3, 400} { // within bufio's first read, and beyond it
		good := csvSeries(n, n-1)
		var want bytes.Buffer
		if err := Detect(strings.NewReader(good), &want, anomaly.DefaultConfig(), LabelState); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"2014-04-01 00:00:00,1", "2099-01-01 00:00:00,NaN", "2099-01-01 00:00:00,x", "2099-01-01 00:00:00", "x,1"} {
			var out bytes.Buffer
			in := good + bad + "\n" + "2099-01-02 00:00:00,1\n"
			err := Detect(strings.NewReader(in), &out, anomaly.DefaultConfig(), LabelState)
			if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("line %d: ", n+2)) {
				t.Fatalf("%d rows then %q: error %v, want one on line %d", n, bad, err, n+2)
			}
			if out.String() != want.String() {
				t.Fatalf("%d rows then %q: wrote %d bytes, want the %d of the %d rows before it", n, bad, out.Len(), want.Len(), n)
			}
		}
	}
}

// TestCommandWritesRowsBeforeAnError runs the command as a user does:
// after a bad row, stdout holds the header and the rows before it, and the
// error names the file and line.
func TestCommandWritesRowsBeforeAnError(t *testing.T) {
	dir := t.TempDir()
	input := writeFile(t, dir, "series.csv", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,2\n2014-04-01 00:10:00,Inf\n2014-04-01 00:15:00,3\n")
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"detect", "--input", input})
	err := cmd.Execute()
	if want := input + `: line 4: value "Inf" is not a finite number`; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	want := "timestamp,value,anomaly_score,label\n2014-04-01 00:00:00,1,0.000000,0\n2014-04-01 00:05:00,2,0.000000,0\n"
	if out.String() != want {
		t.Fatalf("stdout after the error:\n%s\nwant\n%s", out.String(), want)
	}
}

// TestLoadConfigProblemsHavePositions: every problem of a --config file is
// reported at once, as file:line:col: message naming the field, with no Go
// type names; values keep yaml.v3's forms (Go durations, YAML numbers).
func TestLoadConfigProblemsHavePositions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		want       []string // the lines of the error, after "FILE:"
	}{
		{"misspelled key", "threshold: 6\nthreshhold: 5\n", []string{`2:1: unknown field "threshhold"; did you mean "threshold"?`}},
		{"misspelled key in a flow mapping", "{weekly: true, treshold: 5}\n", []string{`1:16: unknown field "treshold"; did you mean "threshold"?`}},
		{"key far from any", "frobnicate: 1\n", []string{`1:1: unknown field "frobnicate" (known: absorb_recurring, clear_after, `}},
		{"repeated key", "threshold: 6\nthreshold: 7\n", []string{`2:1: field "threshold" repeated in the detector config`}},
		{"string for a number", "threshold: high\n", []string{`1:12: threshold must be a number, not "high"`}},
		{"quoted number", "threshold: \"6\"\n", []string{`1:12: threshold must be a number, not "6" (quoted, so a string)`}},
		{"number out of range", "threshold: 1e400\n", []string{`1:12: threshold: value "1e400" is out of range (the largest magnitude is about 1.8e308)`}},
		{"list for a number", "threshold: [6]\n", []string{`1:12: threshold must be a number, not a list`}},
		{"fraction for an integer", "warmup_points: 1.5\n", []string{`1:16: warmup_points must be an integer, not "1.5"`}},
		{"bad bool", "daily: maybe\n", []string{`1:8: daily must be true or false, not "maybe"`}},
		{"bad duration", "clear_after: soon\n", []string{`1:14: clear_after must be a duration like 90s, 36h or 1h30m (units ns, us, ms, s, m, h), not "soon"`}},
		{"Prometheus duration", "rarity: 3d\n", []string{`1:9: rarity must be a duration like 90s, 36h or 1h30m (units ns, us, ms, s, m, h), not "3d"; write 72h0m0s for "3d"`}},
		{"all at once, in file order", "clear_after: soon\n\nthreshhold: 5\nthreshold: x\n", []string{
			`1:14: clear_after must be a duration like 90s, 36h or 1h30m (units ns, us, ms, s, m, h), not "soon"`,
			`3:1: unknown field "threshhold"; did you mean "threshold"?`,
			`4:12: threshold must be a number, not "x"`,
		}},
		{"not a mapping", "- threshold: 6\n", []string{`1:1: the detector config must be a mapping`}},
		{"syntax error", "threshold: 6\nrarity: [1h\n", []string{`2:9: YAML syntax: `}},
		{"second document", "threshold: 6\n---\nthreshold: 7\n", []string{`3:1: this file holds one YAML document; this is a second one`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml", tt.body)
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("error:\n%v\nwant %d lines", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], path+":"+w) {
					t.Errorf("error line %d:\n%s\nwant it to start\n%s", i+1, got[i], path+":"+w)
				}
			}
			for _, goName := range []string{"anomaly.Config", "float64", "time.Duration", "!!str", "unmarshal"} {
				if strings.Contains(err.Error(), goName) {
					t.Errorf("error names %q: %v", goName, err)
				}
			}
		})
	}
}

// TestLoadConfigKeepsValueForms: the values the CLI accepted before
// positions were added (yaml.v3's, Go durations) still load the same.
func TestLoadConfigKeepsValueForms(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "det.yaml", "# tuned\nthreshold: 6.5\nseasonal_level_memory: 1.5h\nrarity: 36h\nwarmup_points: 0x10\nweekly: true\nmin_traffic: 1_000\nclear_score:\n")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := anomaly.DefaultConfig()
	want.Threshold = 6.5
	want.SeasonalLevelMemory = 90 * time.Minute
	want.Rarity = 36 * time.Hour
	want.WarmupPoints = 16
	want.Weekly = true
	want.MinTraffic = 1000
	if cfg != want {
		t.Fatalf("config %+v\nwant   %+v", cfg, want)
	}
	if cfg, err := LoadConfig(writeFile(t, dir, "comments.yaml", "# nothing set\n")); err != nil || cfg != anomaly.DefaultConfig() {
		t.Fatalf("a file of comments: %+v, %v; want the defaults", cfg, err)
	}
}
