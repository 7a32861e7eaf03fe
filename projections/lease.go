package projections

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	renewScript   = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
	releaseScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// acquireLease takes the lease at key for token (SET NX PX); it reports whether token
// holds it now (also when it already held it).
func acquireLease(ctx context.Context, rdb redis.UniversalClient, key, token string, ttl time.Duration) (bool, error) {
	ok, err := rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return false, unavailable(err)
	}
	if ok {
		return true, nil
	}
	return renewLease(ctx, rdb, key, token, ttl)
}

// renewLease extends the lease if token still holds it.
func renewLease(ctx context.Context, rdb redis.UniversalClient, key, token string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, rdb, []string{key}, token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// releaseLease gives the lease up if token holds it, so a standby takes over at once.
func releaseLease(ctx context.Context, rdb redis.UniversalClient, key, token string) {
	_ = releaseScript.Run(ctx, rdb, []string{key}, token).Err()
}
