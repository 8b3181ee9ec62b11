// loadgen opens many new TLS connections to the webhook at once, one admission review each, and
// reports each one's latency as JSON on stdout. bench/webhook-attack.ts runs it for the "5,000
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
//	        [-cert client.crt -key client.key] [-concurrency 50] [-timeout 60s]
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
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

type report struct {
	// LatenciesMs of the connections answered 200 and not denied, in no particular order.
	LatenciesMs []float64 `json:"latenciesMs"`
	// Errors counts the other connections by message (bounded: one entry per distinct message).
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

	var targets []target
	for _, s := range strings.Split(*urls, ",") {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			fail("-urls: expected https URLs separated by commas, got %q", s)
		}
		targets = append(targets, target{u.Host, u.RequestURI()})
	}
	if *n < 1 {
		fail("-n: expected at least 1, got %d", *n)
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
				msg := err.Error()
				if len(msg) > 200 {
					msg = msg[:200]
				}
				rep.Errors[msg]++
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
	reply, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || bytes.Contains(reply, []byte(`"allowed":false`)) {
		if len(reply) > 120 {
			reply = reply[:120]
		}
		return fmt.Errorf("HTTP %d %s", res.StatusCode, reply)
	}
	return nil
}

func cpuMs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	ms := func(t syscall.Timeval) float64 { return float64(t.Sec)*1000 + float64(t.Usec)/1000 }
	return ms(ru.Utime) + ms(ru.Stime)
}
