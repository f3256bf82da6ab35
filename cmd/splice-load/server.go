package main

import (
	"context"
	"io"
	"log"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// shutdownGrace bounds how long a stopping server waits for requests in flight.
const shutdownGrace = 5 * time.Second

// loopServer is a fasthttp server on a loopback listener that stops when its context is done or
// Close is called, whichever comes first. Its methods are safe for concurrent use.
type loopServer struct {
	url      string
	srv      *fasthttp.Server
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	err      error // written before done is closed
}

// startServer listens on addr (a loopback host:port) and serves h until ctx is done or Close is
// called.
func startServer(ctx context.Context, addr string, h fasthttp.RequestHandler) (*loopServer, error) {
	ln, err := listenLoopback(addr)
	if err != nil {
		return nil, err
	}
	ls := &loopServer{
		url: "http://" + ln.Addr().String(),
		srv: &fasthttp.Server{
			Handler:               h,
			Name:                  "splice-load",
			NoDefaultServerHeader: true,
			NoDefaultDate:         true,
			ReadTimeout:           30 * time.Second,
			WriteTimeout:          30 * time.Second,
			IdleTimeout:           30 * time.Second,
			MaxRequestBodySize:    1 << 20,
			// Connection errors of a load test (resets at the end of a run) are not news.
			Logger: log.New(io.Discard, "", 0),
		},
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	served := make(chan error, 1)
	go func() { served <- ls.srv.Serve(ln) }()
	go func() {
		defer close(ls.done)
		select {
		case <-ctx.Done():
		case <-ls.stop:
		case err := <-served:
			ls.err = err
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		_ = ls.srv.ShutdownWithContext(sctx) // past the grace, handlers still running are left to finish
		<-served
	}()
	return ls, nil
}

// URL returns the server's base URL, http://127.0.0.1:PORT.
func (ls *loopServer) URL() string { return ls.url }

// Done returns a channel closed once the server has stopped.
func (ls *loopServer) Done() <-chan struct{} { return ls.done }

// Close stops the server, waits up to shutdownGrace for requests in flight and returns the error
// that stopped it, if serving failed. It may be called more than once.
func (ls *loopServer) Close() error {
	ls.stopOnce.Do(func() { close(ls.stop) })
	<-ls.done
	return ls.err
}
