package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb/kurrentdbtest"
)

// benchReplicas measures plan-step commands/s with one and with three `allianced serve`
// processes on the same kind of shared store: the KurrentDB protocol test server (in
// this process) and the real Redis, in alternating rounds so both see the same
// background load. The clients spread their commands round robin over the replicas.
// Each round starts from an empty log and a fresh Redis prefix.
func benchReplicas(ctx context.Context, o options, tmp string, client *http.Client) error {
	addr, err := redisAddrOf(o.redisURL)
	if err != nil {
		return err
	}
	if !redisAnswers(addr) {
		return fmt.Errorf("no Redis answers at %s; the replica benchmark needs one shared by the replicas", addr)
	}
	fmt.Printf("\n== (d) commands with 1 and 3 replicas: complete plan steps across %d plans, %d clients, %v per run, KurrentDB protocol test server + Redis, %d rounds\n",
		o.replicaPlans, o.clients, o.commandsFor, o.rounds)
	rates := map[int][]float64{}
	for round := range o.rounds {
		for _, n := range []int{1, 3} {
			s, err := replicaRun(ctx, o, tmp, client, n, round)
			if err != nil {
				return fmt.Errorf("%d replicas, round %d: %w", n, round+1, err)
			}
			fmt.Printf("round %d, %d replica(s): %s\n", round+1, n, s)
			if s.Errors > 0 {
				return fmt.Errorf("%d replicas: %d commands failed (first: %s)", n, s.Errors, s.FirstErr)
			}
			rates[n] = append(rates[n], s.Rate())
		}
	}
	one, three := median(rates[1]), median(rates[3])
	line := fmt.Sprintf("replicas: 1 replica %.0f commands/s, 3 replicas %.0f commands/s (medians of %d rounds; ratio %.2f)",
		one, three, o.rounds, three/one)
	fmt.Println(line)
	summary = append(summary, line)
	return nil
}

// replicaRun starts a fresh log and n replicas on it, sets the fixture up through the
// first replica and drives step commands over all n for o.commandsFor.
func replicaRun(ctx context.Context, o options, tmp string, client *http.Client, n, round int) (stats, error) {
	kdb, err := kurrentdbtest.Start("127.0.0.1:0")
	if err != nil {
		return stats{}, err
	}
	defer kdb.Stop()
	prefix := "loadbench-replicas-" + randomSuffix()
	defer func() {
		if err := deletePrefix(o.redisURL, prefix); err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: clean Redis prefix %s: %v\n", prefix, err)
		}
	}()
	keys := map[string]string{"jwt-secret": randomKey(), "pseudonym-key": randomKey()}
	var dirs []string
	var apis []api
	for i := range n {
		dir, err := mustDir(tmp, "replicas-r"+strconv.Itoa(round)+"-n"+strconv.Itoa(n)+"-"+strconv.Itoa(i))
		if err != nil {
			return stats{}, err
		}
		for name, key := range keys {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(key+"\n"), 0o600); err != nil {
				return stats{}, err
			}
		}
		srv, err := startAllianced(o.bin, dir, "--kurrentdb", kdb.URL(), "--redis", o.redisURL, "--redis-prefix", prefix)
		if err != nil {
			return stats{}, err
		}
		defer srv.stop()
		dirs = append(dirs, dir)
		apis = append(apis, api{client: client, base: srv.base})
	}
	f, err := newFixture(ctx, apis[0], o.bin, dirs[0], o.steps)
	if err != nil {
		return stats{}, fmt.Errorf("fixture: %w", err)
	}
	if err := f.addPlans(ctx, o.replicaPlans); err != nil {
		return stats{}, err
	}
	shares := make([][]string, o.clients)
	for i, p := range f.plans {
		shares[i%o.clients] = append(shares[i%o.clients], p)
	}
	s := drive(ctx, o.clients, o.commandsFor, nil, func(ctx context.Context, w, i int) error {
		mine := shares[w]
		if len(mine) == 0 {
			return errDone
		}
		step := i / len(mine)
		if step >= len(f.steps) {
			return errDone
		}
		// Worker w's i-th command goes to replica (w+i) mod n: every replica gets an
		// equal share and every plan's commands visit all of them.
		path := "/v1/plans/" + mine[i%len(mine)] + "/steps/" + f.steps[step] + "/complete"
		_, err := apis[(w+i)%n].post(ctx, f.member, path, map[string]any{"administeredDose": "100 mg"})
		return err
	})
	return s, ctx.Err()
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
