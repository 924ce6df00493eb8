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
