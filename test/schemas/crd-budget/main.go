// crd-budget: the apiserver's own admission check of CustomResourceDefinitions, offline. Each
// argument is a CRD YAML file; each goes through apiextensions-apiserver's
// ValidateCustomResourceDefinition, which compiles every x-kubernetes-validations rule and holds
// its estimated cost (and the whole schema's) to the limits a real apiserver enforces. Prints
// "<file>: N errors" and each error; exits 1 when any file has one.
package main

import (
	"context"
	"fmt"
	"os"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func main() {
	scheme := runtime.NewScheme()
	if err := apiextv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := apiextensions.AddToScheme(scheme); err != nil {
		panic(err)
	}
	failed := false
	for _, file := range os.Args[1:] {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var v1 apiextv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &v1); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			os.Exit(2)
		}
		// As the apiserver does: defaults, then the internal version, then validation.
		scheme.Default(&v1)
		var crd apiextensions.CustomResourceDefinition
		if err := scheme.Convert(&v1, &crd, nil); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			os.Exit(2)
		}
		errs := validation.ValidateCustomResourceDefinition(context.Background(), &crd)
		fmt.Printf("%s: %d errors\n", file, len(errs))
		for _, e := range errs {
			fmt.Printf("  %v\n", e)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
