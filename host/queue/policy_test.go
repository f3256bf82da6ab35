package queue_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/splicehq/splice/host/queue"
)

func TestPolicyBackoffBounds(t *testing.T) {
	p := queue.Policy{BaseDelay: time.Second, MaxDelay: 30 * time.Second, MaxAttempts: 10}
	rnd := rand.New(rand.NewPCG(1, 2))
	for attempt := 1; attempt < 10; attempt++ {
		ceiling := min(time.Second<<(attempt-1), 30*time.Second)
		var maxSeen time.Duration
		for i := 0; i < 2000; i++ {
			d := p.Next(attempt, 0, rnd)
			if d.Dead {
				t.Fatalf("attempt %d: dead before MaxAttempts", attempt)
			}
			if d.Delay < 0 || d.Delay > ceiling {
				t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d.Delay, ceiling)
			}
			maxSeen = max(maxSeen, d.Delay)
		}
		// Full jitter spreads over the whole range: the largest of 2000 draws is near the ceiling.
		if maxSeen < ceiling*9/10 {
			t.Errorf("attempt %d: largest delay %v, want near %v (full jitter)", attempt, maxSeen, ceiling)
		}
	}
}

func TestPolicyDeadLetterAfterMaxAttempts(t *testing.T) {
	p := queue.Policy{MaxAttempts: 3}
	for attempt, wantDead := range map[int]bool{1: false, 2: false, 3: true, 4: true} {
		if got := p.Next(attempt, 0, nil).Dead; got != wantDead {
			t.Errorf("attempt %d of 3: dead = %v, want %v", attempt, got, wantDead)
		}
	}
}

func TestPolicyRetryAfter(t *testing.T) {
	p := queue.Policy{BaseDelay: time.Second, MaxDelay: time.Minute, MaxRetryAfter: 10 * time.Minute}
	rnd := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		name       string
		retryAfter time.Duration
		min, max   time.Duration
	}{
		{"honoured as a floor", 30 * time.Second, 30 * time.Second, time.Minute},
		{"above the backoff", 5 * time.Minute, 5 * time.Minute, 5 * time.Minute},
		{"clamped", 48 * time.Hour, 10 * time.Minute, 10 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 200; i++ {
				d := p.Next(1, tc.retryAfter, rnd)
				if d.Delay < tc.min || d.Delay > tc.max {
					t.Fatalf("delay %v outside [%v, %v]", d.Delay, tc.min, tc.max)
				}
			}
		})
	}
}

func TestPolicyZeroValueAndOverflow(t *testing.T) {
	var p queue.Policy // defaults: 8 attempts, 1 s base, 10 min cap
	for _, attempt := range []int{-5, 0, 1, 7, 63, 64, 1 << 30} {
		d := p.Next(attempt, 0, nil)
		if !d.Dead && (d.Delay < 0 || d.Delay > queue.DefaultMaxDelay) {
			t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d.Delay, queue.DefaultMaxDelay)
		}
	}
	if err := (queue.Policy{MaxAttempts: -1}).Validate(); err == nil {
		t.Error("negative MaxAttempts validated")
	}
}
