// Command kurrentdbtest runs the in-process KurrentDB protocol test server on an address,
// so tools and manual checks can talk to a disposable, in-memory log:
//
//	go run ./cmd/kurrentdbtest -addr 127.0.0.1:2113
//
// It serves until interrupted. The connection string is printed on start.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/medalliance/allianced/adapters/eventstore/kurrentdb/kurrentdbtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2113", "address to listen on (host:port)")
	flag.Parse()
	srv, err := kurrentdbtest.Start(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(srv.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Stop()
}
