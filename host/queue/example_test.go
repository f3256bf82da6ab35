package queue_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/splicehq/splice/host/queue"
)

func ExamplePolicy_Next() {
	p := queue.Policy{BaseDelay: time.Second, MaxDelay: time.Minute, MaxAttempts: 4}
	rnd := rand.New(rand.NewPCG(1, 1)) // seeded for the example; nil uses the global source
	for attempt := 1; attempt <= 4; attempt++ {
		d := p.Next(attempt, 0, rnd)
		fmt.Printf("after attempt %d: dead=%v delay=%v\n", attempt, d.Dead, d.Delay.Round(time.Millisecond))
	}
	// A 429 asking for two minutes: honoured, as a floor under the backoff.
	fmt.Println(p.Next(1, 2*time.Minute, rnd).Delay)
	// Output:
	// after attempt 1: dead=false delay=997ms
	// after attempt 2: dead=false delay=205ms
	// after attempt 3: dead=false delay=3.455s
	// after attempt 4: dead=true delay=0s
	// 2m0s
}
