package nab

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-otel/vigil/anomaly"
	"github.com/vigil-otel/vigil/anomaly/anomalycli"
)

// File is one series of the corpus with its label windows.
type File struct {
	// Name is the path relative to the data folder, e.g.
	// "realTweets/Twitter_volume_AAPL.csv"; Category is its folder.
	Name, Category string
	// Group is the cross-validation group the file belongs to: its
	// source where the corpus has a manifest.csv naming one (as
	// opscorpus does), else its category, NAB's two artificial
	// categories together (see Folds).
	Group string
	// Path is the CSV file on disk.
	Path string
	// Times and Values hold the rows.
	Times  []time.Time
	Values []float64
	// Windows are the label windows as row indices.
	Windows []Window
}

// LoadCorpus reads combined_windows.json under dir (or under dir/labels, as
// in NAB's own repository) and the CSV files it names under dir/data,
// resolving each window's time stamps to rows.
func LoadCorpus(dir string) ([]File, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "combined_windows.json"))
	if errors.Is(err, fs.ErrNotExist) {
		raw, err = os.ReadFile(filepath.Join(dir, "labels", "combined_windows.json"))
	}
	if err != nil {
		return nil, err
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("combined_windows.json: %w", err)
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	sources, err := readSources(filepath.Join(dir, "manifest.csv"))
	if err != nil {
		return nil, err
	}
	files := make([]File, 0, len(names))
	for _, name := range names {
		f := File{Name: name, Category: strings.Split(name, "/")[0], Path: filepath.Join(dir, "data", filepath.FromSlash(name))}
		f.Group = sources[name]
		if f.Group == "" {
			f.Group = f.Category
			if strings.HasPrefix(f.Category, "artificial") {
				// artificialNoAnomaly has no windows to normalise
				// against on its own.
				f.Group = "artificial"
			}
		}
		if f.Times, f.Values, err = readSeries(f.Path); err != nil {
			return nil, err
		}
		if f.Windows, err = windowRows(f.Times, labels[name]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// readSources reads the file → source map of a corpus manifest (columns
// "file" and "source"); a corpus without one yields an empty map.
func readSources(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]string{}
	if len(rows) == 0 {
		return out, nil
	}
	file, source := slices.Index(rows[0], "file"), slices.Index(rows[0], "source")
	if file < 0 || source < 0 {
		return nil, fmt.Errorf("%s: want columns file and source, got %v", path, rows[0])
	}
	for _, r := range rows[1:] {
		out[r[file]] = r[source]
	}
	return out, nil
}

// readSeries reads the rows of a timestamp,value CSV.
func readSeries(path string) ([]time.Time, []float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var times []time.Time
	var values []float64
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			continue
		}
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		ts, val, _ := strings.Cut(text, ",")
		t, err := anomalycli.ParseTimestamp(ts)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: value %q is not a number", path, line, val)
		}
		times = append(times, t)
		values = append(values, v)
	}
	return times, values, sc.Err()
}

// windowRows maps [start, end] time stamps to row indices; both must be
// time stamps of rows, as in NAB's label files.
func windowRows(times []time.Time, limits [][2]string) ([]Window, error) {
	index := make(map[int64]int, len(times))
	for i, t := range times {
		index[t.UnixNano()] = i
	}
	out := make([]Window, 0, len(limits))
	for _, l := range limits {
		var w Window
		for k, s := range l {
			t, err := anomalycli.ParseTimestamp(s)
			if err != nil {
				return nil, err
			}
			i, ok := index[t.UnixNano()]
			if !ok {
				return nil, fmt.Errorf("window bound %s is not a row time stamp", s)
			}
			if k == 0 {
				w.Start = i
			} else {
				w.End = i
			}
		}
		if w.End < w.Start {
			return nil, fmt.Errorf("window %v ends before it starts", l)
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, nil
}

// Detections runs the CLI's detect code path over the file and returns its
// label column.
func Detections(f File, cfg anomaly.Config, mode anomalycli.LabelMode) ([]bool, error) {
	in, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var out bytes.Buffer
	if err := anomalycli.Detect(in, &out, cfg, mode); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	det := make([]bool, 0, len(f.Times))
	sc := bufio.NewScanner(&out)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ",")
		label, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil {
			return nil, fmt.Errorf("%s: bad label in %q", f.Name, sc.Text())
		}
		det = append(det, label == 1)
	}
	if len(det) != len(f.Times) {
		return nil, fmt.Errorf("%s: detect wrote %d rows for %d input rows", f.Name, len(det), len(f.Times))
	}
	return det, nil
}

// Onsets runs a detector over the file's values in memory and returns its
// onsets, the rows `vigil anomaly detect` labels 1 by default: the same
// detector calls as the CLI without the CSV round trip, for the many runs
// of cross-validation. TestOnsetsMatchTheCLI keeps the two equal.
func Onsets(f File, cfg anomaly.Config) []bool {
	d := anomaly.New(cfg)
	det := make([]bool, len(f.Values))
	for i, v := range f.Values {
		det[i] = d.Observe(f.Times[i], v).Onset
	}
	return det
}

// Report holds a corpus run: totals per category and overall, per profile.
type Report struct {
	// ByCategory[profile name][category] and Overall[profile name].
	ByCategory map[string]map[string]*Total
	Overall    map[string]*Total
	// PerFile holds the standard profile's score per file, by name.
	PerFile map[string]FileScore
}

// Evaluate runs the detector with one configuration over every file and
// scores the detections under every profile.
func Evaluate(files []File, cfg anomaly.Config, mode anomalycli.LabelMode) (Report, error) {
	rep := Report{ByCategory: map[string]map[string]*Total{}, Overall: map[string]*Total{}, PerFile: map[string]FileScore{}}
	for _, p := range Profiles() {
		rep.ByCategory[p.Name] = map[string]*Total{}
		rep.Overall[p.Name] = &Total{}
	}
	for _, f := range files {
		det, err := Detections(f, cfg, mode)
		if err != nil {
			return rep, err
		}
		for _, p := range Profiles() {
			fs := ScoreFile(det, f.Windows, p)
			if p == Standard {
				rep.PerFile[f.Name] = fs
			}
			cat := rep.ByCategory[p.Name][f.Category]
			if cat == nil {
				cat = &Total{}
				rep.ByCategory[p.Name][f.Category] = cat
			}
			cat.Add(fs)
			rep.Overall[p.Name].Add(fs)
		}
	}
	return rep, nil
}

// Subset totals the standard-profile scores of the named categories, for
// reporting a split of the corpus.
func (r Report) Subset(profile string, categories ...string) Total {
	var t Total
	for _, c := range categories {
		if ct := r.ByCategory[profile][c]; ct != nil {
			t.Merge(*ct)
		}
	}
	return t
}
