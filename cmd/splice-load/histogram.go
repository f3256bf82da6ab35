package main

import (
	"math"
	"math/bits"
	"time"
)

// Layout of latencyHist: values are nanoseconds. Values below 2*histSub are their own bucket;
// above, each power of two [2^k, 2^(k+1)) is split into histSub equal buckets, so a bucket is at
// most 1/histSub (0.78%) of its values wide, and its midpoint is within 0.4% of any of them.
// Values at or above histMax (about 18 minutes) are counted in the last bucket; max stays exact.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histMaxBits = 40
	histMax     = 1<<histMaxBits - 1
	histBuckets = (histMaxBits-histSubBits)*histSub + histSub
)

// latencyHist is a fixed-size log-linear histogram of durations with exact count, sum, min and
// max. Its zero value is empty and ready to use. It is not safe for concurrent use: give each
// goroutine its own and merge them.
type latencyHist struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64 // nanoseconds
	min    time.Duration
	max    time.Duration
}

// bucketOf returns the bucket index of v nanoseconds (clamped to [0, histMax]).
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > histMax {
		v = histMax
	}
	if v < 2*histSub {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1
	return e*histSub + int(v>>e)
}

// bucketRange returns the lowest value of bucket i and its width.
func bucketRange(i int) (lo, width int64) {
	if i < 2*histSub {
		return int64(i), 1
	}
	e := i/histSub - 1
	m := int64(i - e*histSub)
	return m << e, 1 << e
}

// record adds one duration.
func (h *latencyHist) record(d time.Duration) {
	h.counts[bucketOf(int64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += float64(d)
}

// merge adds o's samples to h.
func (h *latencyHist) merge(o *latencyHist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// count returns the number of samples.
func (h *latencyHist) count() uint64 { return h.n }

// mean returns the exact mean, 0 when empty.
func (h *latencyHist) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(math.Round(h.sum / float64(h.n)))
}

// quantile returns the nearest-rank q-quantile (0 < q <= 1): the smallest sample such that at least
// q of all samples are at or below it, to within 0.4% (the midpoint of its bucket, kept within the
// exact min and max). It returns 0 when empty; quantile(1) is the exact max.
func (h *latencyHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q*float64(h.n) - 1e-9)) // 0.2*5 is 1.0000000000000002, rank 1
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen < rank {
			continue
		}
		lo, width := bucketRange(i)
		v := time.Duration(lo + width/2)
		return min(max(v, h.min), h.max)
	}
	return h.max
}
