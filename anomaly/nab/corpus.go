package nab

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	// Path is the CSV file on disk.
	Path string
	// Times holds the rows' time stamps, for mapping windows to rows.
	Times []time.Time
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
	files := make([]File, 0, len(names))
	for _, name := range names {
		f := File{Name: name, Category: strings.Split(name, "/")[0], Path: filepath.Join(dir, "data", filepath.FromSlash(name))}
		if f.Times, err = readTimes(f.Path); err != nil {
			return nil, err
		}
		if f.Windows, err = windowRows(f.Times, labels[name]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// readTimes reads the time stamp column of a timestamp,value CSV.
func readTimes(path string) ([]time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var times []time.Time
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
		ts, _, _ := strings.Cut(text, ",")
		t, err := anomalycli.ParseTimestamp(ts)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		times = append(times, t)
	}
	return times, sc.Err()
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
