// Gloo Mesh's own certificate controllers, built from their Go module for issue 15's test "with
// their own code" (README.md here): the cert-agent (github.com/solo-io/gloo-mesh/cmd/cert-agent)
// and the issuer (./cert-issuer: the issuer of pkg/certificates/issuer, which Gloo Mesh runs inside
// its networking controller, wired here on its own for one cluster). test/gloo-mesh/ensure.ts
// builds both. go.sum is not committed yet: the module proxy refuses github.com/solo-io/gloo-mesh
// (README.md); once it serves it, `go mod tidy` here writes go.sum.
module mesh-cert.test/gloo-mesh

go 1.26

tool github.com/solo-io/gloo-mesh/cmd/cert-agent

require github.com/solo-io/gloo-mesh v1.1.0

// Gloo Mesh's own replace block, copied from its go.mod (replace directives of a dependency are
// ignored, and without these its k8s.io and controller-runtime requirements do not build).
replace (
	// pinned to solo-io's fork of cue version 95a50cebaffb4bdba8c544601d8fb867990ad1ad
	cuelang.org/go => github.com/solo-io/cue v0.4.1-0.20210622213027-95a50cebaffb

	// github.com/Azure/go-autorest/autorest has different versions for the Go
	// modules than it does for releases on the repository. Note the correct
	// version when updating.
	github.com/docker/distribution => github.com/docker/distribution v0.0.0-20191216044856-a8371794149d
	github.com/docker/docker => github.com/moby/moby v0.7.3-0.20190826074503-38ab9da00309
	github.com/envoyproxy/go-control-plane => github.com/envoyproxy/go-control-plane v0.9.9-0.20210115003313-31f9241a16e6
	github.com/spf13/viper => github.com/istio/viper v1.3.3-0.20190515210538-2789fed3109c

	k8s.io/api => k8s.io/api v0.20.4
	k8s.io/apiextensions-apiserver => k8s.io/apiextensions-apiserver v0.20.4
	k8s.io/apimachinery => k8s.io/apimachinery v0.20.4
	k8s.io/cli-runtime => k8s.io/cli-runtime v0.20.4
	k8s.io/client-go => k8s.io/client-go v0.20.4

	k8s.io/kube-openapi => github.com/howardjohn/kube-openapi v0.0.0-20210104181841-c0b40d2cb1c8
	k8s.io/kubectl => k8s.io/kubectl v0.20.4
	k8s.io/utils => k8s.io/utils v0.0.0-20201110183641-67b214c5f920
	sigs.k8s.io/controller-runtime => sigs.k8s.io/controller-runtime v0.7.0
)
