package projections

import (
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// StartEmbedded runs an in-process Redis-protocol server (miniredis) and returns a
// client of it and the function that stops both. The embedded default uses it instead
// of a real Redis: the same projector and queries run on it (every command they use,
// WATCH/MULTI/EXEC, PUBLISH and the lease's Lua scripts included, is supported by
// miniredis). Its views live in memory only, so they start empty and the projector
// rebuilds them from the log at start: its catch-up from position 0 is the rebuild.
func StartEmbedded() (*redis.Client, func(), error) {
	srv := miniredis.NewMiniRedis()
	if err := srv.Start(); err != nil {
		return nil, nil, fmt.Errorf("start the embedded redis: %w", err)
	}
	// The server is in this process: a reply can be late only because it is busy with
	// our own work (a rebuild's large transaction, slower still under the race
	// detector), never because a network or another process failed, so the read
	// timeout is generous rather than go-redis's 3 s.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 32, ReadTimeout: 30 * time.Second})
	stop := func() {
		_ = rdb.Close()
		srv.Close()
	}
	return rdb, stop, nil
}
