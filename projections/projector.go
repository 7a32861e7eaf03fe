package projections

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medalliance/allianced/adapters/eventstore"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "allianced"

// Options configures a Projector.
type Options struct {
	// Prefix is the first part of every key, so several environments share one Redis
	// (default DefaultPrefix): every key is "<prefix>:...".
	Prefix string
	// BatchSize is the most events committed in one Redis transaction (default 1000).
	BatchSize int
	// LeaseTTL is how long the write lease on a generation lasts without renewal
	// (default 10 s); it is renewed every third of it.
	LeaseTTL time.Duration
	// Owner names this process in the lease value, for operators (default host-pid).
	Owner string
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 10 * time.Second
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = host + "-" + strconv.Itoa(os.Getpid())
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Projector follows the global log and keeps the Redis views of the current generation
// up to date. Any number of projectors may run against one Redis and prefix (one per
// API replica): the one holding the generation's lease writes, the others stand by and
// take over when the lease expires. Correctness never depends on the lease alone: every
// commit is fenced by a WATCH of the checkpoint, so even two writers racing through a
// lease hand-over cannot apply an event twice or skip one.
type Projector struct {
	store eventstore.Store
	rdb   redis.UniversalClient
	opt   Options
	token string
	now   func() time.Time
	// failed counts the events the views could not apply (the writer adds to it as it
	// commits their degradations).
	failed atomic.Uint64

	mu         sync.Mutex
	gen        string
	checkpoint eventstore.Position
	caughtUp   bool
	leading    bool
	skipped    uint64
	listeners  []func(gen string, pos eventstore.Position)
}

// NewProjector returns a projector of store's log into rdb. It does nothing until Run.
func NewProjector(store eventstore.Store, rdb redis.UniversalClient, opt Options) *Projector {
	opt = opt.withDefaults()
	return &Projector{store: store, rdb: rdb, opt: opt, token: opt.Owner + "-" + randomHex(8), now: time.Now}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Prefix returns the key prefix the projector writes under.
func (p *Projector) Prefix() string { return p.opt.Prefix }

// Status is what the projector last did, for logs and readiness checks.
type Status struct {
	Generation string              `json:"generation"`
	Checkpoint eventstore.Position `json:"checkpoint"`
	// Leading is true while this process holds the write lease.
	Leading bool `json:"leading"`
	// CaughtUp is true once the live subscription delivered everything stored.
	CaughtUp bool `json:"caughtUp"`
	// Skipped counts events this build could not decode and passed over.
	Skipped uint64 `json:"skipped"`
	// Failed counts events this process could not apply to the views (each degraded
	// the documents it was changing; see Degraded).
	Failed uint64 `json:"failed"`
}

// Status returns the projector's in-process state.
func (p *Projector) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Status{Generation: p.gen, Checkpoint: p.checkpoint, Leading: p.leading, CaughtUp: p.caughtUp, Skipped: p.skipped, Failed: p.failed.Load()}
}

// onCommit registers fn to be called after each commit this process makes (Queries use
// it to wake read-your-writes waits without a Redis round trip).
func (p *Projector) onCommit(fn func(gen string, pos eventstore.Position)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.listeners = append(p.listeners, fn)
}

func (p *Projector) committed(gen string, pos eventstore.Position) {
	p.mu.Lock()
	p.gen, p.checkpoint = gen, pos
	ls := p.listeners
	p.mu.Unlock()
	for _, fn := range ls {
		fn(gen, pos)
	}
}

var errLeaseLost = errors.New("projections: the write lease was lost")

// Run follows the log until ctx is done, then returns ctx's error. While another
// process holds the lease it stands by; transient failures of the store or of Redis are
// logged and retried after a pause.
func (p *Projector) Run(ctx context.Context) error {
	sub := p.rdb.Subscribe(ctx, generationChannel(p.opt.Prefix))
	defer sub.Close()
	genChanged := make(chan struct{}, 1)
	go func() {
		for range sub.Channel() {
			select {
			case genChanged <- struct{}{}:
			default:
			}
		}
	}()
	retry := min(max(p.opt.LeaseTTL/10, 50*time.Millisecond), time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		gen, err := ensureGeneration(ctx, p.rdb, p.opt.Prefix)
		if err == nil {
			var ok bool
			ok, err = acquireLease(ctx, p.rdb, leaseKey(p.opt.Prefix, gen), p.token, p.opt.LeaseTTL)
			if err == nil && ok {
				err = p.lead(ctx, gen, genChanged)
				releaseLease(context.WithoutCancel(ctx), p.rdb, leaseKey(p.opt.Prefix, gen), p.token)
				if errors.Is(err, errViewsLost) {
					p.opt.Logger.Warn("projections: the views of the generation vanished (Redis restarted empty or was flushed?); projecting a fresh generation",
						"generation", gen)
					err = p.replaceGeneration(ctx, gen)
				}
				if err == nil || errors.Is(err, errGenerationChanged) || errors.Is(err, errLeaseLost) {
					p.opt.Logger.Info("projections: following the current generation again", "reason", err)
					continue
				}
			}
			if err == nil && !ok {
				select { // standby
				case <-ctx.Done():
				case <-genChanged:
				case <-time.After(retry):
				}
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.opt.Logger.Error("projections: projector failed; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// lead writes gen while this process holds its lease.
func (p *Projector) lead(ctx context.Context, gen string, genChanged <-chan struct{}) error {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p.mu.Lock()
	p.gen, p.leading, p.caughtUp = gen, true, false
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.leading = false
		p.mu.Unlock()
	}()
	// Drain a stale signal: the generation was read after it.
	select {
	case <-genChanged:
	default:
	}
	go func() {
		tick := time.NewTicker(p.opt.LeaseTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-genChanged:
				if cur, err := p.rdb.Get(runCtx, currentKey(p.opt.Prefix)).Result(); err == nil && cur != gen {
					cancel(errGenerationChanged)
					return
				}
			case <-tick.C:
				ok, err := renewLease(runCtx, p.rdb, leaseKey(p.opt.Prefix, gen), p.token, p.opt.LeaseTTL)
				if err == nil && !ok {
					cancel(errLeaseLost)
					return
				}
				if cur, err := p.rdb.Get(runCtx, currentKey(p.opt.Prefix)).Result(); err == nil && cur != gen {
					cancel(errGenerationChanged)
					return
				}
				// Redis restarted empty, or the generation's keys were deleted: without
				// this check an idle projector would notice only at the next event.
				if n, err := p.rdb.Exists(runCtx, keyspace{prefix: p.opt.Prefix, gen: gen}.checkpoint()).Result(); err == nil && n == 0 {
					cancel(errViewsLost)
					return
				}
			}
		}
	}()
	w := &writer{rdb: p.rdb, ks: keyspace{prefix: p.opt.Prefix, gen: gen}, live: true, log: p.opt.Logger, onCommit: p.committed, failed: &p.failed}
	for {
		if err := w.start(runCtx); err != nil {
			return causeOr(runCtx, err)
		}
		if err := p.checkSameLog(runCtx, w); err != nil {
			return causeOr(runCtx, err)
		}
		if err := p.markStart(runCtx, w); err != nil {
			return causeOr(runCtx, err)
		}
		p.committed(gen, w.committed)
		err := p.follow(runCtx, w)
		p.mu.Lock()
		p.skipped += w.skipped
		w.skipped = 0
		p.mu.Unlock()
		if errors.Is(err, errRewound) {
			p.opt.Logger.Warn("projections: the stored checkpoint moved back; resuming from it", "generation", gen)
			continue
		}
		return causeOr(runCtx, err)
	}
}

// causeOr returns the cancellation cause of ctx when it is done, else err.
func causeOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil {
			return c
		}
	}
	return err
}

// follow catches up with ReadAll, reading the next page while the current one is
// applied, then subscribes from the last committed position and applies live events,
// batching whatever arrived meanwhile.
func (p *Projector) follow(ctx context.Context, w *writer) error {
	if err := catchUp(ctx, p.store, w, p.opt.BatchSize, nil); err != nil {
		return err
	}
	subCtx, stop := context.WithCancel(ctx)
	defer stop()
	liveCh := make(chan eventstore.RecordedEvent, 4*p.opt.BatchSize)
	subErr := make(chan error, 1)
	from := w.committed
	go func() {
		subErr <- p.store.Subscribe(subCtx, from, func(m eventstore.SubscriptionMessage) error {
			if m.CaughtUp {
				p.mu.Lock()
				p.caughtUp = true
				p.mu.Unlock()
				return nil
			}
			if m.Event == nil {
				return nil
			}
			select {
			case liveCh <- *m.Event:
				return nil
			case <-subCtx.Done():
				return subCtx.Err()
			}
		})
	}()
	buf := make([]eventstore.RecordedEvent, 0, p.opt.BatchSize)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-subErr:
			if err == nil {
				err = errors.New("subscription ended")
			}
			return fmt.Errorf("subscribe to the log: %w", err)
		case rec := <-liveCh:
			buf = append(buf[:0], rec)
		drain:
			for len(buf) < p.opt.BatchSize {
				select {
				case r := <-liveCh:
					buf = append(buf, r)
				default:
					break drain
				}
			}
			if err := w.apply(ctx, buf); err != nil {
				return err
			}
		}
	}
}

// catchUp applies every stored event after w.committed with ReadAll pages, reading the
// next page while the current one commits. progress, when set, is told each page's size.
func catchUp(ctx context.Context, store eventstore.Store, w *writer, size int, progress func(n int)) error {
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	type page struct {
		d   decoded
		n   int
		err error
	}
	pages := make(chan page, 2)
	go func() {
		defer close(pages)
		after := w.committed
		for {
			recs, err := store.ReadAll(readCtx, after, size)
			pg := page{n: len(recs), err: err}
			if err == nil {
				pg.d = decode(recs)
			}
			select {
			case pages <- pg:
			case <-readCtx.Done():
				return
			}
			if err != nil || len(recs) < size {
				return
			}
			after = recs[len(recs)-1].Position
		}
	}()
	for pg := range pages {
		if pg.err != nil {
			return fmt.Errorf("read the log after %d: %w", w.committed, pg.err)
		}
		if err := w.applyDecoded(ctx, pg.d); err != nil {
			return err
		}
		if progress != nil {
			progress(pg.n)
		}
	}
	return ctx.Err()
}

// ensureGeneration returns the current generation, creating the first one when the
// prefix has none.
func ensureGeneration(ctx context.Context, rdb redis.UniversalClient, prefix string) (string, error) {
	gen, err := rdb.Get(ctx, currentKey(prefix)).Result()
	if err == nil {
		return gen, nil
	}
	if !errors.Is(err, redis.Nil) {
		return "", unavailable(err)
	}
	if err := rdb.SetNX(ctx, currentKey(prefix), newGenerationName(), 0).Err(); err != nil {
		return "", unavailable(err)
	}
	gen, err = rdb.Get(ctx, currentKey(prefix)).Result()
	return gen, unavailable(err)
}

// newGenerationName returns a fresh, time-ordered generation name.
func newGenerationName() string {
	return "g" + strconv.FormatInt(time.Now().UnixMilli(), 36) + randomHex(3)
}

// markStart records, for readers, what the views of w's generation must reach before
// they can say "not found": the head of the log now (the catch-up target). It also
// creates the checkpoint (0) of a generation never written, so that a reader tells a
// generation being projected from one nobody started, and a projector tells a fresh
// generation from one whose checkpoint vanished (Redis restarted empty, or the keys were
// deleted) while its other keys may remain: that one returns errViewsLost.
func (p *Projector) markStart(ctx context.Context, w *writer) error {
	head, err := p.store.Head(ctx)
	if err != nil {
		return fmt.Errorf("read the head of the log: %w", err)
	}
	pipe := p.rdb.TxPipeline()
	cp := pipe.Exists(ctx, w.ks.checkpoint())
	target := pipe.Exists(ctx, w.ks.catchUpTarget())
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(err)
	}
	if cp.Val() == 0 && (target.Val() == 1 || w.committed > 0) {
		return errViewsLost
	}
	pipe = p.rdb.TxPipeline()
	pipe.SetNX(ctx, w.ks.checkpoint(), "0", 0)
	pipe.Set(ctx, w.ks.catchUpTarget(), strconv.FormatUint(uint64(max(head, w.committed)), 10), 0)
	_, err = pipe.Exec(ctx)
	return unavailable(err)
}

// replaceGeneration switches the current generation from old to a fresh, empty one
// (unless someone switched already) and deletes old.
func (p *Projector) replaceGeneration(ctx context.Context, old string) error {
	fresh := newGenerationName()
	key := currentKey(p.opt.Prefix)
	err := p.rdb.Watch(ctx, func(tx *redis.Tx) error {
		cur, err := tx.Get(ctx, key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return unavailable(err)
		}
		if cur != "" && cur != old {
			fresh = ""
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, key, fresh, 0)
			return nil
		})
		return err
	}, key)
	if err != nil {
		return unavailable(err)
	}
	if err := deleteGeneration(ctx, p.rdb, p.opt.Prefix, old); err != nil {
		return err
	}
	if fresh != "" {
		p.rdb.Publish(ctx, generationChannel(p.opt.Prefix), fresh)
	}
	return nil
}

// checkSameLog guards against views of another log: when the stored checkpoint is
// beyond the head of the log (the event store was replaced, e.g. a new data directory
// with the same Redis), the views cannot be brought up to date. The projector then
// starts a fresh, empty generation, switches to it and deletes the old one, and
// returns errGenerationChanged so the new generation is projected from the start.
func (p *Projector) checkSameLog(ctx context.Context, w *writer) error {
	if w.committed == 0 {
		return nil
	}
	head, err := p.store.Head(ctx)
	if err != nil {
		return fmt.Errorf("read the head of the log: %w", err)
	}
	if head >= w.committed {
		return nil
	}
	p.opt.Logger.Warn("projections: the views are ahead of the log (another event store?); projecting them again from the start",
		"generation", w.ks.gen, "checkpoint", w.committed, "head", head)
	fresh := newGenerationName()
	if err := p.rdb.Set(ctx, currentKey(p.opt.Prefix), fresh, 0).Err(); err != nil {
		return unavailable(err)
	}
	// The lease's renewal notices the switch and cancels ctx: the deletion must not stop
	// half-way because of that.
	if err := deleteGeneration(context.WithoutCancel(ctx), p.rdb, p.opt.Prefix, w.ks.gen); err != nil {
		return err
	}
	p.rdb.Publish(context.WithoutCancel(ctx), generationChannel(p.opt.Prefix), fresh)
	return errGenerationChanged
}
