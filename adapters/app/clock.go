package app

import "time"

// WithClock returns the same use cases over the same store with another clock. The demo
// uses it to record an alliance's past year with each command at its own instant, as if
// the service had run then; everything else (store, ids, pseudonymizer, policies) is
// shared.
func (a *App) WithClock(now func() time.Time) *App {
	c := *a
	c.now = now
	return &c
}
