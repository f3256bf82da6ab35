package queue

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults of Policy, used where its fields are zero.
const (
	DefaultBaseDelay     = time.Second
	DefaultMaxDelay      = 10 * time.Minute
	DefaultMaxAttempts   = 8
	DefaultMaxRetryAfter = time.Hour
)

// Policy decides when a failed item is retried and when it is dead-lettered. The zero value is
// valid and means the defaults: 8 attempts, exponential backoff from 1 s capped at 10 min with full
// jitter, and Retry-After honoured up to 1 h.
type Policy struct {
	// BaseDelay is the backoff ceiling after the first failed attempt; it doubles per attempt.
	BaseDelay time.Duration `json:"baseDelay"`
	// MaxDelay caps the backoff ceiling.
	MaxDelay time.Duration `json:"maxDelay"`
	// MaxAttempts is the number of attempts in all, the first included; after the last failure the
	// item is dead-lettered.
	MaxAttempts int `json:"maxAttempts"`
	// MaxRetryAfter clamps a Retry-After asked for by an upstream (a 429 or 503).
	MaxRetryAfter time.Duration `json:"maxRetryAfter"`
}

// Decision is what to do with an item after a failed attempt.
type Decision struct {
	Dead  bool          // dead-letter the item: its attempts are exhausted
	Delay time.Duration // otherwise, run it again after this delay
}

func (p Policy) withDefaults() Policy {
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return p
}

// Validate reports a policy that makes no sense (negative fields).
func (p Policy) Validate() error {
	if p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxAttempts < 0 || p.MaxRetryAfter < 0 {
		return fmt.Errorf("queue: policy: negative field in %+v", p)
	}
	return nil
}

// Next decides what follows the failure of attempt (1 for the first). retryAfter, when positive,
// is what the upstream asked for; it is clamped to MaxRetryAfter and then used as a floor under the
// backoff. The backoff is "full jitter": uniform in [0, min(MaxDelay, BaseDelay*2^(attempt-1))],
// which spreads retries of items that failed together (AWS Architecture Blog, "Exponential Backoff
// And Jitter", 2015). rnd supplies the jitter; nil uses the global source.
func (p Policy) Next(attempt int, retryAfter time.Duration, rnd *rand.Rand) Decision {
	p = p.withDefaults()
	if attempt >= p.MaxAttempts {
		return Decision{Dead: true}
	}
	ceiling := p.MaxDelay
	if attempt < 1 {
		attempt = 1
	}
	if shift := attempt - 1; shift < 62 {
		if d := p.BaseDelay << shift; d > 0 && d < ceiling && d>>shift == p.BaseDelay {
			ceiling = d
		}
	}
	var delay time.Duration
	if rnd != nil {
		delay = time.Duration(rnd.Int64N(int64(ceiling) + 1))
	} else {
		delay = time.Duration(rand.Int64N(int64(ceiling) + 1))
	}
	if retryAfter > 0 {
		delay = max(delay, min(retryAfter, p.MaxRetryAfter))
	}
	return Decision{Delay: delay}
}
