// Command referee loads every cluster's `cacerts` Secret the way istiod loads a plugged-in CA, with
// istio.io/istio's own code, signs a workload certificate with each as istiod would, and checks
// with crypto/x509 that the workloads of every cluster verify against every cluster's roots.
//
//	referee FILE|DIR|-
//
// FILE (or - for standard input) is a JSON object: cluster name -> the Secret's `data` (base64
// values, as in Secret.data). A whole Secret object (with `data`) is accepted as a value too.
// DIR holds one such value per file, <cluster>.json.
//
// It prints a JSON report on standard output:
//
//	{"istio": "<module version>", "clusters": {"<name>": {"loaded": true, "layout": "istiod"}},
//	 "pairs": [{"from": "a", "to": "b", "ok": true}]}
//
// and exits 0 when every cluster loaded and every ordered pair (self included) verified, 1 when
// not, 2 when the input cannot be read.
package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"istio.io/istio/pkg/log"
	"istio.io/istio/security/pkg/cmd"
	"istio.io/istio/security/pkg/pki/ca"
	"istio.io/istio/security/pkg/pki/util"
)

type clusterReport struct {
	Loaded bool `json:"loaded"`
	// which files istiod would load: "istiod" (ca-cert.pem, ca-key.pem, cert-chain.pem,
	// root-cert.pem) or "tls" (tls.crt, tls.key, ca.crt, loaded in preference when tls.crt exists)
	Layout   string   `json:"layout,omitempty"`
	Error    string   `json:"error,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// the workload certificate's SPIFFE identity and the subjects of the chain istiod sends with it
	Workload string   `json:"workload,omitempty"`
	Chain    []string `json:"chain,omitempty"`
	// the issuer of the CA certificate istiod signs with (ca-cert.pem, or tls.crt)
	CAIssuer string `json:"caIssuer,omitempty"`
	// subjects of the roots istiod distributes to its workloads (root-cert.pem)
	Roots []string `json:"roots,omitempty"`
}

type pairReport struct {
	From  string `json:"from"`
	To    string `json:"to"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type report struct {
	Istio    string                    `json:"istio"`
	Clusters map[string]*clusterReport `json:"clusters"`
	Pairs    []pairReport              `json:"pairs"`
}

// loaded is what a cluster's istiod holds once its CA is up.
type loaded struct {
	leaf          *x509.Certificate
	intermediates *x509.CertPool
	roots         *x509.CertPool
}

// Same as istiod's defaults (pilot/pkg/bootstrap/istio_ca.go): DEFAULT_WORKLOAD_CERT_TTL,
// MAX_WORKLOAD_CERT_TTL, CITADEL_SELF_SIGNED_CA_RSA_KEY_SIZE; the agent asks for SECRET_TTL (24h)
// with an RSA 2048 key when no ECC algorithm is set.
const (
	caRSAKeySize      = 2048
	workloadKeySize   = 2048
	requestedLifetime = 24 * time.Hour
)

// Secret keys are [-._a-zA-Z0-9]+ (Kubernetes validation): anything else cannot be a file name.
var secretKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

func main() {
	if len(os.Args) != 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: referee FILE|DIR|-   (JSON: cluster name -> cacerts Secret data, base64 values)")
		os.Exit(2)
	}
	// istio's loggers write to stdout by default; the report owns stdout
	opts := log.DefaultOptions()
	opts.OutputPaths = []string{"stderr"}
	opts.ErrorOutputPaths = []string{"stderr"}
	if err := log.Configure(opts); err != nil {
		fmt.Fprintf(os.Stderr, "referee: configuring istio's log: %v\n", err)
		os.Exit(2)
	}
	clusters, err := readInput(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "referee: %v\n", err)
		os.Exit(2)
	}
	rep, ok := referee(clusters)
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		fmt.Fprintf(os.Stderr, "referee: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(string(out))
	if !ok {
		os.Exit(1)
	}
}

func istioVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "istio.io/istio" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// secretData accepts a Secret's data map, or a whole Secret object that has one.
func secretData(raw json.RawMessage) (map[string]string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if d, ok := obj["data"]; ok {
		if _, isSecret := obj["kind"]; isSecret {
			raw = d
		}
	}
	var data map[string]string
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("Secret data must map keys to base64 strings: %v", err)
	}
	return data, nil
}

func readInput(arg string) (map[string]map[string]string, error) {
	clusters := map[string]map[string]string{}
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		files, err := filepath.Glob(filepath.Join(arg, "*.json"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			d, err := secretData(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f, err)
			}
			clusters[strings.TrimSuffix(filepath.Base(f), ".json")] = d
		}
	} else {
		var b []byte
		if arg == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(arg)
		}
		if err != nil {
			return nil, err
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil {
			return nil, fmt.Errorf("%s: not a JSON object of cluster name -> Secret data: %v", arg, err)
		}
		for name, raw := range top {
			d, err := secretData(raw)
			if err != nil {
				return nil, fmt.Errorf("cluster %q: %v", name, err)
			}
			clusters[name] = d
		}
	}
	if len(clusters) == 0 {
		return nil, fmt.Errorf("%s: no clusters", arg)
	}
	return clusters, nil
}

func referee(clusters map[string]map[string]string) (*report, bool) {
	rep := &report{Istio: istioVersion(), Clusters: map[string]*clusterReport{}, Pairs: []pairReport{}}
	names := make([]string, 0, len(clusters))
	for n := range clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	all := true
	state := map[string]*loaded{}
	for _, n := range names {
		cr := &clusterReport{}
		rep.Clusters[n] = cr
		l, err := load(n, clusters[n], cr)
		if err != nil {
			cr.Error = err.Error()
			all = false
			continue
		}
		cr.Loaded = true
		state[n] = l
	}
	for _, from := range names {
		for _, to := range names {
			p := pairReport{From: from, To: to}
			switch {
			case state[from] == nil:
				p.Error = fmt.Sprintf("%s did not load, so it has no workload certificate", from)
			case state[to] == nil:
				p.Error = fmt.Sprintf("%s did not load, so it has no roots", to)
			default:
				if err := verify(state[from], state[to]); err != nil {
					p.Error = err.Error()
				} else {
					p.OK = true
				}
			}
			all = all && p.OK
			rep.Pairs = append(rep.Pairs, p)
		}
	}
	return rep, all
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// load writes the Secret's keys as files, as the cacerts volume mounts them at /etc/cacerts, and
// loads them as istiod does (pilot/pkg/bootstrap/istio_ca.go createIstioCA, whose file detection
// is unexported and so restated here; the loading itself is istio's code).
func load(cluster string, data map[string]string, cr *clusterReport) (*loaded, error) {
	dir, err := os.MkdirTemp("", "istio-referee-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	keys := make([]string, 0, len(data))
	for k, v := range data {
		if !secretKey.MatchString(k) {
			return nil, fmt.Errorf("Secret key %q is not a valid Secret key", k)
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("Secret key %s: not base64: %v", k, err)
		}
		if err := os.WriteFile(filepath.Join(dir, k), b, 0o600); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	at := func(name string) string { return filepath.Join(dir, name) }

	// detectSigningCABundleAndCRL: tls.crt present means the kubernetes.io/tls layout wins
	var bundle ca.SigningCAFileBundle
	if fileExists(at(ca.TLSSecretCACertFile)) {
		cr.Layout = "tls"
		bundle = ca.SigningCAFileBundle{
			RootCertFile:    at(ca.TLSSecretRootCertFile),
			CertChainFiles:  []string{at(ca.TLSSecretCACertFile), at(ca.TLSSecretRootCertFile)},
			SigningCertFile: at(ca.TLSSecretCACertFile),
			SigningKeyFile:  at(ca.TLSSecretCAPrivateKeyFile),
		}
		for _, k := range []string{ca.CACertFile, ca.CAPrivateKeyFile, ca.CertChainFile, ca.RootCertFile} {
			if _, ok := data[k]; ok {
				cr.Warnings = append(cr.Warnings, fmt.Sprintf("%s is ignored: istiod loads %s, %s and %s in preference", k, ca.TLSSecretCACertFile, ca.TLSSecretCAPrivateKeyFile, ca.TLSSecretRootCertFile))
			}
		}
	} else {
		cr.Layout = "istiod"
		bundle = ca.SigningCAFileBundle{
			RootCertFile:    at(ca.RootCertFile),
			CertChainFiles:  []string{at(ca.CertChainFile)},
			SigningCertFile: at(ca.CACertFile),
			SigningKeyFile:  at(ca.CAPrivateKeyFile),
		}
		// PILOT_ENABLE_CA_CRL defaults to true: a ca-crl.pem is loaded and verified when present
		if fileExists(at(ca.CACRLFile)) {
			bundle.CRLFile = at(ca.CACRLFile)
		}
	}
	// checkCABundleCompleteness
	present := map[string]bool{}
	for _, f := range []string{bundle.SigningKeyFile, bundle.SigningCertFile, bundle.RootCertFile} {
		present[filepath.Base(f)] = fileExists(f)
	}
	chainExists := false
	for _, f := range bundle.CertChainFiles {
		chainExists = chainExists || fileExists(f)
	}
	var missing []string
	for _, f := range []string{bundle.SigningCertFile, bundle.SigningKeyFile, bundle.RootCertFile} {
		if !present[filepath.Base(f)] {
			missing = append(missing, filepath.Base(f))
		}
	}
	if !chainExists {
		missing = append(missing, filepath.Base(bundle.CertChainFiles[0]))
	}
	if len(missing) == 4 {
		return nil, fmt.Errorf("no plugged-in CA in the Secret (keys: %s): istiod would fall back to its self-signed CA", strings.Join(keys, ", "))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("failed to create an istiod CA: incomplete signing CA bundle detected (missing %s)", strings.Join(missing, ", "))
	}
	if _, ok := data[ca.IstioGenerated]; ok {
		cr.Warnings = append(cr.Warnings, fmt.Sprintf("the %q key marks an istiod-generated CA: with USE_CACERTS_FOR_SELF_SIGNED_CA=true istiod treats this Secret as its own self-signed CA", ca.IstioGenerated))
	}

	caOpts, err := ca.NewPluggedCertIstioCAOptions(bundle, cmd.DefaultWorkloadCertTTL, cmd.DefaultMaxWorkloadCertTTL, caRSAKeySize)
	if err != nil {
		return nil, fmt.Errorf("failed to create an istiod CA: %v", err)
	}
	istioCA, err := ca.NewIstioCA(caOpts)
	if err != nil {
		return nil, fmt.Errorf("failed to create an istiod CA: %v", err)
	}

	// The workload side: the istio agent's CSR (security/pkg/nodeagent/cache), then the CA
	// server's answer (security/pkg/server/ca CreateCertificate with no cert signer): the signed
	// certificate followed by the CA's cert chain; the root goes separately, as the trust bundle.
	id := fmt.Sprintf("spiffe://cluster.local/ns/default/sa/%s", cluster)
	csrPEM, _, err := util.GenCSR(util.CertOptions{Host: id, RSAKeySize: workloadKeySize})
	if err != nil {
		return nil, fmt.Errorf("workload CSR: %v", err)
	}
	certPEM, err := istioCA.Sign(csrPEM, ca.CertOpts{SubjectIDs: []string{id}, TTL: requestedLifetime, ForCA: false})
	if err != nil {
		return nil, fmt.Errorf("istiod CA could not sign a workload certificate: %v", err)
	}
	caCert, _, certChainPEM, rootPEM := istioCA.GetCAKeyCertBundle().GetAll()
	cr.CAIssuer = caCert.Issuer.String()
	chain, err := parseAll(append(append([]byte{}, certPEM...), certChainPEM...))
	if err != nil {
		return nil, fmt.Errorf("the chain istiod would send: %v", err)
	}
	if len(chain) == 0 {
		return nil, errors.New("istiod signed no certificate")
	}
	leaf := chain[0]
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != id {
		return nil, fmt.Errorf("the workload certificate names %v, not %s", leaf.URIs, id)
	}
	l := &loaded{leaf: leaf, intermediates: x509.NewCertPool(), roots: x509.NewCertPool()}
	cr.Workload = id
	for _, c := range chain {
		cr.Chain = append(cr.Chain, subject(c))
	}
	for _, c := range chain[1:] {
		l.intermediates.AddCert(c)
	}
	roots, err := parseAll(rootPEM)
	if err != nil {
		return nil, fmt.Errorf("root-cert.pem: %v", err)
	}
	for _, r := range roots {
		l.roots.AddCert(r)
		cr.Roots = append(cr.Roots, subject(r))
	}
	return l, nil
}

func subject(c *x509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return s
	}
	if len(c.URIs) > 0 {
		return c.URIs[0].String()
	}
	return "(empty subject)"
}

func parseAll(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := b; ; {
		block, r := pem.Decode(rest)
		if block == nil {
			return out, nil
		}
		rest = r
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// verify checks from's workload certificate, with the chain its istiod sent, against the roots
// to's istiod distributes, for both sides of mTLS (server and client authentication).
func verify(from, to *loaded) error {
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		name := map[x509.ExtKeyUsage]string{x509.ExtKeyUsageServerAuth: "as a server", x509.ExtKeyUsageClientAuth: "as a client"}[usage]
		if _, err := from.leaf.Verify(x509.VerifyOptions{Intermediates: from.intermediates, Roots: to.roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	return nil
}
