// Only marks this folder as a module root: crd-budget.test.ts runs `go run` with
// -modfile=test/kube/apiserver/go.mod (the pinned kube-apiserver's dependencies), so the CRDs are
// judged by the apiextensions-apiserver that the real control plane of test/kube runs.
module mesh-cert.test/kube/apiserver

go 1.24.0
