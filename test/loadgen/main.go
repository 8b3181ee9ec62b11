// loadgen opens many new TLS connections to the webhook at once, one admission review each, and
// reports each one's latency as JSON on stdout. bench/webhook-flood.ts runs it for the "5,000
// new connections at once" figures.
//
// It is written in Go because the caller it stands in for, kube-apiserver, is: the handshakes it
// makes are those of Go's crypto/tls, and it costs the shared cores far less per connection than
// Node clients did, so that on a small machine the figure measures the server, not the client.
//
// Every connection is new (no keep-alive, no session resumption): a full handshake, one POST,
// the whole reply read, the connection closed. Connection i goes to URL i modulo the number of
// URLs, as a Service spreads new connections over its endpoints.
//
//	loadgen -urls https://127.0.0.1:9443/validate,... -n 5000 -ca ca.crt -body review.json
//	        [-cert client.crt -key client.key] [-concurrency 50] [-timeout 5s]
//
// A connection succeeds when it is answered 200 with a body that is not a denial (an
// AdmissionReview whose response.allowed is false); the others are counted by kind of failure,
// without addresses or ports, at most maxErrorKinds kinds.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxErrorKinds bounds the report: past it, failures are counted under "other".
const maxErrorKinds = 50

// maxConnections bounds -n: every connection's goroutine and result exist at once.
const maxConnections = 1_000_000

type report struct {
	// LatenciesMs of the connections answered 200 and not denied, in no particular order.
	LatenciesMs []float64 `json:"latenciesMs"`
	// Errors counts the other connections by kind of failure (errorKind).
	Errors map[string]int `json:"errors"`
	// CPUMs is this process's user+system CPU from the start signal to the last answer.
	CPUMs  float64 `json:"cpuMs"`
	WallMs float64 `json:"wallMs"`
}

type target struct{ hostport, path string }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	urls := flag.String("urls", "", "comma-separated https URLs (required)")
	n := flag.Int("n", 5000, "connections")
	concurrency := flag.Int("concurrency", 0, "connections open at once (0: all n at once)")
	caFile := flag.String("ca", "", "CA of the serving certificate (PEM, required)")
	certFile := flag.String("cert", "", "client certificate (PEM), when the server asks for one")
	keyFile := flag.String("key", "", "its private key (PEM)")
	bodyFile := flag.String("body", "", "the request body (required)")
	timeout := flag.Duration("timeout", 60*time.Second, "for each connection, from dial to the last byte")
	flag.Parse()

	for _, f := range []struct{ name, value string }{{"urls", *urls}, {"ca", *caFile}, {"body", *bodyFile}} {
		if f.value == "" {
			fail("-%s: required", f.name)
		}
	}
	if (*certFile == "") != (*keyFile == "") {
		fail("-cert and -key: expected both (a client certificate and its key) or neither")
	}
	if *timeout <= 0 {
		fail("-timeout: expected a positive duration, got %s", *timeout)
	}
	if *concurrency < 0 {
		fail("-concurrency: expected 0 (all at once) or more, got %d", *concurrency)
	}
	var targets []target
	for _, s := range strings.Split(*urls, ",") {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			fail("-urls: expected https URLs separated by commas, got %q", s)
		}
		targets = append(targets, target{u.Host, u.RequestURI()})
	}
	if *n < 1 || *n > maxConnections {
		fail("-n: expected 1 to %d, got %d", maxConnections, *n)
	}
	caPem, err := os.ReadFile(*caFile)
	if err != nil {
		fail("-ca: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPem) {
		fail("-ca: no PEM certificate in %s", *caFile)
	}
	// No ClientSessionCache: every handshake is a full one, as a flood of new clients makes.
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if *certFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fail("-cert/-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		fail("-body: %v", err)
	}

	rep := report{LatenciesMs: make([]float64, 0, *n), Errors: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	var slots chan struct{}
	if *concurrency > 0 {
		slots = make(chan struct{}, *concurrency)
	}
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func(t target) {
			defer wg.Done()
			<-start
			if slots != nil {
				slots <- struct{}{}
				defer func() { <-slots }()
			}
			began := time.Now()
			err := post(t, cfg, body, *timeout)
			ms := float64(time.Since(began).Microseconds()) / 1000
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				kind := errorKind(err)
				if _, seen := rep.Errors[kind]; !seen && len(rep.Errors) >= maxErrorKinds {
					kind = "other"
				}
				rep.Errors[kind]++
			} else {
				rep.LatenciesMs = append(rep.LatenciesMs, ms)
			}
		}(targets[i%len(targets)])
	}
	// Every goroutine exists before the clock starts: only connections are in the window.
	cpu0 := cpuMs()
	t0 := time.Now()
	close(start)
	wg.Wait()
	rep.WallMs = float64(time.Since(t0).Microseconds()) / 1000
	rep.CPUMs = cpuMs() - cpu0
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fail("writing the report: %v", err)
	}
}

func post(t target, cfg *tls.Config, body []byte, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	conn, err := tls.DialWithDialer(&net.Dialer{Deadline: deadline}, "tcp", t.hostport, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		t.path, t.hostport, len(body))
	if _, err := conn.Write(append([]byte(head), body...)); err != nil {
		return err
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err
	}
	reply, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	return judge(res.StatusCode, reply)
}

// refusal is an answer that is not a success: its kind names the status and, for a denial, its code.
type refusal struct{ kind string }

func (r refusal) Error() string { return r.kind }

// judge: 200 and not a denial is a success. An empty server's "{}" is one; an AdmissionReview
// with response.allowed false is a refusal named by its status code (422 invalid, 429 busy, 413
// too large, 503 not ready).
func judge(status int, reply []byte) error {
	if status != http.StatusOK {
		return refusal{fmt.Sprintf("HTTP %d", status)}
	}
	var review struct {
		Response *struct {
			Allowed bool `json:"allowed"`
			Status  *struct {
				Code int `json:"code"`
			} `json:"status"`
		} `json:"response"`
	}
	if err := json.Unmarshal(reply, &review); err != nil {
		return refusal{"HTTP 200, not JSON"}
	}
	if review.Response != nil && !review.Response.Allowed {
		code := 0
		if review.Response.Status != nil {
			code = review.Response.Status.Code
		}
		return refusal{fmt.Sprintf("HTTP 200, denied with code %d", code)}
	}
	return nil
}

// errorKind names a failure without what differs between connections (ports, addresses), so that
// failures of one kind are counted together.
func errorKind(err error) string {
	var r refusal
	if errors.As(err, &r) {
		return r.kind
	}
	var op *net.OpError
	if errors.As(err, &op) {
		inner := op.Err
		var sys *os.SyscallError
		if errors.As(inner, &sys) {
			inner = sys.Err
		}
		if ne, ok := inner.(net.Error); ok && ne.Timeout() {
			return op.Op + ": timeout"
		}
		return op.Op + ": " + inner.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "closed by the server (EOF)"
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return "timeout"
	}
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return msg
}

func cpuMs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	ms := func(t syscall.Timeval) float64 { return float64(t.Sec)*1000 + float64(t.Usec)/1000 }
	return ms(ru.Utime) + ms(ru.Stime)
}
