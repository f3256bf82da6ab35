package sandbox

import (
	"context"
	"time"
)

// AcquireRelease takes an instance for consumer from the pool (instantiating one if none is idle)
// and gives it back: the pooled-acquire cost, without a call.
func (m *Module) AcquireRelease(ctx context.Context, consumer string) error {
	s, err := m.acquire(ctx, consumer, time.Second)
	if err != nil {
		return err
	}
	m.release(s, "")
	return nil
}

// Fresh instantiates (start and initialization functions included) and closes one instance.
func (m *Module) Fresh(ctx context.Context) error {
	in, err := m.compiled.instantiate(ctx)
	if err != nil {
		return err
	}
	in.close(ctx)
	return nil
}
