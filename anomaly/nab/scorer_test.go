package nab

import (
	"math"
	"testing"
)

// detectAt returns n rows of detections, true at the given rows.
func detectAt(n int, rows ...int) []bool {
	d := make([]bool, n)
	for _, r := range rows {
		d[r] = true
	}
	return d
}

func TestProbationaryLength(t *testing.T) {
	tests := []struct{ rows, want int }{
		{100, 15}, {4032, 604}, {1538, 230}, {5000, 750}, {15902, 750}, {6, 0},
	}
	for _, tt := range tests {
		if got := ProbationaryLength(tt.rows); got != tt.want {
			t.Errorf("ProbationaryLength(%d) = %d, want %d", tt.rows, got, tt.want)
		}
	}
}

func TestScaledSigmoid(t *testing.T) {
	tests := []struct{ pos, want float64 }{
		{-1, 0.9866142981514305}, // 2·sigmoid(5) − 1
		{0, 0},
		{1, -0.9866142981514305},
		{3, -1},
		{10, -1},
	}
	for _, tt := range tests {
		if got := ScaledSigmoid(tt.pos); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("ScaledSigmoid(%v) = %v, want %v", tt.pos, got, tt.want)
		}
	}
}

// The cases use 100 rows (probation: 15 rows) and one window over rows
// 40..49 (width 10). Expected values were computed by hand from NAB's
// formulas: in-window weight = S(-(49-i+1)/10)/S(-1), after-window weight
// = S(|49-i|/9)·fpWeight, before any window = -fpWeight.
func TestScoreFileHandComputed(t *testing.T) {
	window := []Window{{Start: 40, End: 49}}
	tests := []struct {
		name       string
		profile    Profile
		detections []bool
		windows    []Window
		wantRaw    float64
		wantNull   float64
		tp, fp     int
		hit        int
	}{
		{"silent", Standard, detectAt(100), window, -1, -1, 0, 0, 0},
		{"at window start earns tpWeight", Standard, detectAt(100, 40), window, 1, -1, 1, 0, 1},
		{"at window end earns little", Standard, detectAt(100, 49), window, 0.24824154977542992, -1, 1, 0, 1},
		{"mid window", Standard, detectAt(100, 45), window, 0.8597925669097837, -1, 1, 0, 1},
		{"only the best detection counts", Standard, detectAt(100, 45, 40, 49), window, 1, -1, 3, 0, 1},
		{"FP before any window costs fpWeight", Standard, detectAt(100, 20, 40), window, 1 - 0.11, -1, 1, 1, 1},
		{"FP just after a window costs less", Standard, detectAt(100, 54), window, -1 - 0.09712188136763907, -1, 0, 1, 0},
		{"FP right after the window costs little", Standard, detectAt(100, 50), window, -1 - 0.029793183036839352, -1, 0, 1, 0},
		{"FP far after a window costs fpWeight", Standard, detectAt(100, 99), window, -1 - 0.11, -1, 0, 1, 0},
		{"probationary detections are ignored", Standard, detectAt(100, 3, 14), window, -1, -1, 0, 0, 0},
		{"window in probation is not scored", Standard, detectAt(100, 7), []Window{{5, 9}}, 0, 0, 0, 0, 0},
		{"low FP profile doubles FP cost", RewardLowFPRate, detectAt(100, 54), window, -1 - 0.19424376273527813, -1, 0, 1, 0},
		{"low FN profile doubles a miss", RewardLowFNRate, detectAt(100), window, -2, -2, 0, 0, 0},
		{"two windows, second missed", Standard, detectAt(100, 40), []Window{{40, 49}, {70, 79}}, 1 - 1, -2, 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := ScoreFile(tt.detections, tt.windows, tt.profile)
			if math.Abs(fs.Raw-tt.wantRaw) > 1e-9 {
				t.Errorf("raw = %v, want %v", fs.Raw, tt.wantRaw)
			}
			if fs.Null != tt.wantNull {
				t.Errorf("null = %v, want %v", fs.Null, tt.wantNull)
			}
			if fs.TP != tt.tp || fs.FP != tt.fp || fs.WindowsHit != tt.hit {
				t.Errorf("tp/fp/hit = %d/%d/%d, want %d/%d/%d", fs.TP, fs.FP, fs.WindowsHit, tt.tp, tt.fp, tt.hit)
			}
			if fs.TP+fs.FP+fs.FN+fs.TN != len(tt.detections)-ProbationaryLength(len(tt.detections)) {
				t.Errorf("row counts %+v do not add up to the scored rows", fs)
			}
		})
	}
}

func TestNormalization(t *testing.T) {
	window := []Window{{Start: 40, End: 49}}
	tests := []struct {
		name  string
		files [][]bool
		want  float64
	}{
		{"null detector scores 0", [][]bool{detectAt(100), detectAt(100)}, 0},
		{"perfect detector scores 100", [][]bool{detectAt(100, 40), detectAt(100, 40)}, 100},
		// raw = 1 + (-1) = 0, null = -2, perfect = 2: 100·2/4.
		{"one of two windows", [][]bool{detectAt(100, 40), detectAt(100)}, 50},
		// raw = 1 - 0.11 - 1, null = -2, perfect = 2: 100·1.89/4.
		{"with one far FP", [][]bool{detectAt(100, 40, 20), detectAt(100)}, 47.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tot Total
			for _, d := range tt.files {
				tot.Add(ScoreFile(d, window, Standard))
			}
			if got := tot.Normalized(); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("normalized = %v, want %v", got, tt.want)
			}
		})
	}
	var empty Total
	empty.Add(ScoreFile(detectAt(100, 50), nil, Standard))
	if !math.IsNaN(empty.Normalized()) {
		t.Errorf("a set without windows has no normalized score, got %v", empty.Normalized())
	}
}

func TestMergeKeepsFileCount(t *testing.T) {
	var a, b, all Total
	a.Add(ScoreFile(detectAt(100, 40), []Window{{40, 49}}, Standard))
	b.Add(ScoreFile(detectAt(100), []Window{{40, 49}}, Standard))
	b.Add(ScoreFile(detectAt(100), []Window{{40, 49}}, Standard))
	all.Merge(a)
	all.Merge(b)
	if all.Files != 3 || all.Windows != 3 || all.Raw != -1 {
		t.Fatalf("merged %+v", all)
	}
}
