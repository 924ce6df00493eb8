package anomalyconnector

import "math"

// histogramQuantile estimates quantile q from explicit-bucket counts the
// way Prometheus' histogram_quantile does: find the bucket holding the q-th
// observation and interpolate linearly inside it. bounds are the upper
// bounds of all but the last bucket (len(counts) == len(bounds)+1). The
// first bucket is taken to start at 0 (durations are not negative) unless
// its bound is negative; a quantile in the overflow bucket is reported as
// the highest finite bound, as nothing is known above it. It returns NaN
// when there are no observations.
func histogramQuantile(q float64, bounds []float64, counts []float64) float64 {
	var total float64
	for _, c := range counts {
		total += c
	}
	if total <= 0 || len(counts) != len(bounds)+1 {
		return math.NaN()
	}
	rank := q * total
	var cum float64
	for i, c := range counts {
		if c <= 0 || cum+c < rank {
			cum += c
			continue
		}
		if i == len(bounds) {
			if len(bounds) == 0 {
				return math.NaN()
			}
			return bounds[len(bounds)-1]
		}
		lower := 0.0
		if i > 0 {
			lower = bounds[i-1]
		} else if bounds[0] <= 0 {
			lower = bounds[0]
		}
		return lower + (bounds[i]-lower)*(rank-cum)/c
	}
	// rank == total with trailing empty buckets: the top of the last
	// non-empty finite bucket.
	for i := len(counts) - 1; i >= 0; i-- {
		if counts[i] > 0 {
			if i >= len(bounds) {
				return bounds[len(bounds)-1]
			}
			return bounds[i]
		}
	}
	return math.NaN()
}
